package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/weftdata/weft/internal/blobimport" // the blob_import job
	"github.com/weftdata/weft/internal/roundtrip"
	"github.com/weftdata/weft/internal/store/pgtest"
)

// startBoundary starts a server of the backend with cfg's boundary
// settings, logging into log when it is not nil.
func startBoundary(t *testing.T, backend string, cfg Config, log io.Writer) *Server {
	t.Helper()
	if log == nil {
		log = io.Discard
	}
	cfg.Addr, cfg.StitchInterval = "127.0.0.1:0", -1
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if backend == "postgres" {
		cfg.DB = pgtest.URL(t)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	return s
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	a := roundtrip.Do(t, method, url, []byte(body))
	return a.Status, string(a.Body)
}

func pluginConfig(name string, command ...string) string {
	q := make([]string, len(command))
	for i, c := range command {
		q[i] = fmt.Sprintf("%q", c)
	}
	return "plugins:\n  - name: " + name + "\n    command: [" + strings.Join(q, ", ") + "]\n"
}

// TestPluginCommandAllowlist: a config naming a command the operator did
// not allow is refused at apply with a 400 naming the plugin, the command
// and the rule, on both backends; an allowed one is applied.
func TestPluginCommandAllowlist(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			s := startBoundary(t, backend, Config{PluginCommands: []string{"/opt/plugins/* --serve"}}, nil)
			status, body := do(t, http.MethodPut, s.URL()+"/v1/config", pluginConfig("evil", "sh", "-c", "id > /tmp/pwned"))
			if status != http.StatusBadRequest || !strings.Contains(body, "plugins[evil].command") || !strings.Contains(body, `sh -c id \u003e /tmp/pwned`) && !strings.Contains(body, `sh -c id > /tmp/pwned`) ||
				!strings.Contains(body, "rule: --plugin-command") {
				t.Fatalf("PUT a config with a command not allowed: %d %s", status, body)
			}
			status, body = do(t, http.MethodPut, s.URL()+"/v1/config", pluginConfig("good", "/opt/plugins/rfm", "--serve"))
			if status != http.StatusOK {
				t.Fatalf("PUT a config with an allowed command: %d %s", status, body)
			}
		})
	}
}

// TestPluginCommandsDefault: without --plugin-command, the commands of the
// --config file are allowed, and no other; without either, none.
func TestPluginCommandsDefault(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfgFile, []byte(pluginConfig("p", "/usr/bin/python3", "/srv/p.py")), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startBoundary(t, "duckdb", Config{ConfigFile: cfgFile}, nil)
	if status, body := do(t, http.MethodPut, s.URL()+"/v1/config", pluginConfig("p", "/usr/bin/python3", "/srv/other.py")); status != http.StatusBadRequest ||
		!strings.Contains(body, "the commands of --config "+cfgFile) {
		t.Fatalf("PUT another command than --config's: %d %s", status, body)
	}
	if status, body := do(t, http.MethodPut, s.URL()+"/v1/config", pluginConfig("q", "/usr/bin/python3", "/srv/p.py")); status != http.StatusOK {
		t.Fatalf("PUT --config's command under another name: %d %s", status, body)
	}
	s2 := startBoundary(t, "duckdb", Config{}, nil)
	if status, body := do(t, http.MethodPut, s2.URL()+"/v1/config", pluginConfig("p", "/usr/bin/python3", "/srv/p.py")); status != http.StatusBadRequest ||
		!strings.Contains(body, "no --plugin-command given") {
		t.Fatalf("PUT a command without --plugin-command or --config: %d %s", status, body)
	}
}

// TestPluginCommandsFile reads patterns from a file, comments left out.
func TestPluginCommandsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "commands")
	if err := os.WriteFile(f, []byte("# plugins we run\n/opt/a *\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startBoundary(t, "duckdb", Config{PluginCommandsFile: f}, nil)
	if status, body := do(t, http.MethodPut, s.URL()+"/v1/config", pluginConfig("a", "/opt/a", "x")); status != http.StatusOK {
		t.Fatalf("allowed by the file: %d %s", status, body)
	}
	if status, body := do(t, http.MethodPut, s.URL()+"/v1/config", pluginConfig("b", "/opt/b")); status != http.StatusBadRequest || !strings.Contains(body, f) {
		t.Fatalf("not in the file: %d %s", status, body)
	}
}

// TestImportFolders: file:// import sources are refused outside the
// folders given at start, when a config declares them and when a run is
// triggered, however the path is spelt; inside them they run.
func TestImportFolders(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			root := t.TempDir()
			allowed, other := filepath.Join(root, "allowed"), filepath.Join(root, "other")
			for _, d := range []string{filepath.Join(allowed, "crm"), other} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(other, filepath.Join(allowed, "link")); err != nil {
				t.Fatal(err)
			}
			s := startBoundary(t, backend, Config{ImportFolders: []string{allowed}}, nil)
			job := func(source string) string {
				return fmt.Sprintf("jobs:\n  crm_import:\n    job: blob_import\n    parameters: {source: %q, format: json, target: events}\n", source)
			}
			for _, bad := range []string{"file://" + other, "file://" + allowed + "/../other", "file://" + allowed + "/link", "file:///etc"} {
				status, body := do(t, http.MethodPut, s.URL()+"/v1/config", job(bad))
				if status != http.StatusBadRequest || !strings.Contains(body, "outside the folders this server may import from") || !strings.Contains(body, allowed) {
					t.Errorf("PUT a job importing %s: %d %s", bad, status, body)
				}
				status, body = do(t, http.MethodPost, s.URL()+"/v1/jobs/blob_import/runs", fmt.Sprintf(`{"source":%q,"format":"json","target":"events"}`, bad))
				if status != http.StatusBadRequest || !strings.Contains(body, "--import-folder") {
					t.Errorf("trigger an import of %s: %d %s", bad, status, body)
				}
			}
			if status, body := do(t, http.MethodPut, s.URL()+"/v1/config", job("file://"+allowed+"/crm")); status != http.StatusOK {
				t.Fatalf("PUT a job importing an allowed folder: %d %s", status, body)
			}
			if status, body := do(t, http.MethodPost, s.URL()+"/v1/jobs/crm_import/runs", `{}`); status/100 != 2 {
				t.Fatalf("trigger it: %d %s", status, body)
			}
		})
	}
}

// TestSuperuserWarning: connecting to PostgreSQL as a superuser (the test
// cluster's postgres) is logged at WARN, saying what it gives up.
func TestSuperuserWarning(t *testing.T) {
	var log bytes.Buffer
	startBoundary(t, "postgres", Config{}, &log)
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "as the superuser postgres") {
		t.Fatalf("no superuser warning in the log:\n%s", log.String())
	}
}

// TestServerKeyFile: without a secret key, the server key is a file made
// in the data directory on first start and kept after.
func TestServerKeyFile(t *testing.T) {
	dir := t.TempDir()
	k1, err := serverKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, ServerKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := serverKey(dir, nil)
	if err != nil || !bytes.Equal(k1, k2) || len(k1) != 32 {
		t.Fatalf("second start: %x vs %x (%v)", k2, k1, err)
	}
	secret := bytes.Repeat([]byte{7}, 32)
	if k, _ := serverKey(dir, secret); !bytes.Equal(k, secret) {
		t.Fatal("the secret key is not the server key")
	}
}

// TestPluginCommandsStoredConfig: a config in force whose command the
// server now started does not allow is warned of at start.
func TestPluginCommandsStoredConfig(t *testing.T) {
	dir := t.TempDir()
	s := startBoundary(t, "duckdb", Config{DataDir: dir, PluginCommands: []string{"*"}}, nil)
	if status, body := do(t, http.MethodPut, s.URL()+"/v1/config", pluginConfig("old", "/bin/old-plugin")); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	startBoundary(t, "duckdb", Config{DataDir: dir, PluginCommands: []string{"/opt/*"}}, &log)
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), `plugin old: command \"/bin/old-plugin\" is not allowed`) {
		t.Fatalf("no warning of the stored config's command:\n%s", log.String())
	}
}

// TestDeployRechecksCommand: a stored successful run is deployed only
// while its plugin's command in force is allowed. A server that allows it
// starts the run's server; one started later with an allowlist that does
// not allow it leaves the run undeployed (deploy_failed, naming the rule)
// and starts nothing.
func TestDeployRechecksCommand(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(t.TempDir(), "started")
	s := startBoundary(t, "duckdb", Config{DataDir: dir, PluginCommands: []string{"*"}}, nil)
	if status, body := do(t, http.MethodPut, s.URL()+"/v1/config", pluginConfig("old", "/bin/old-plugin")); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	spec := fmt.Sprintf(`{"http":{"statusPath":"/status","requestPath":"/predict","startServerCmd":"touch %s; exec sleep 60"},"folders":{}}`, marker)
	if _, err := s.Store.ExecContext(context.Background(), `INSERT INTO plugin_runs (run_id, plugin, status, ended_at, deploy)
		VALUES ('run-old', 'old', 'succeeded', CURRENT_TIMESTAMP, $1)`, spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the allowed run's server to start", func() bool { _, err := os.Stat(marker); return err == nil })
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}

	s = startBoundary(t, "duckdb", Config{DataDir: dir, PluginCommands: []string{"/opt/*"}}, nil)
	var last string
	waitFor(t, "the run's deployment to be refused", func() bool {
		var v struct {
			Plugins []struct {
				Name       string `json:"name"`
				Deployment *struct {
					Status    string `json:"status"`
					LastError string `json:"last_error"`
				} `json:"deployment"`
			} `json:"plugins"`
		}
		status, body := do(t, http.MethodGet, s.URL()+"/v1/plugins", "")
		last = body
		if status != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil || len(v.Plugins) != 1 || v.Plugins[0].Deployment == nil {
			return false
		}
		d := v.Plugins[0].Deployment
		return d.Status == "deploy_failed" && strings.Contains(d.LastError, "not started") && strings.Contains(d.LastError, "--plugin-command")
	})
	time.Sleep(time.Second) // what a start would have done by now
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the refused run's server was started; GET /v1/plugins: %s", last)
	}
}

// waitFor polls ok for up to 20 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
