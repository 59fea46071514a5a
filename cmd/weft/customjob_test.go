package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store/pgtest"
)

// TestStockBinaryServesACustomBuildsStore: a custom build (testdata/
// customweft) applies a config declaring its own job; the stock binary
// then starts on that store with a warning and the job disabled, and its
// --config replaces the stored config.
func TestStockBinaryServesACustomBuildsStore(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			storeArgs := []string{"--data", t.TempDir()}
			if backend == "postgres" {
				storeArgs = []string{"--db", pgtest.URL(t), "--plugin-storage", "file://" + filepath.ToSlash(t.TempDir())}
			}
			dir := t.TempDir()
			custom := filepath.Join(dir, "custom.yaml")
			fixed := filepath.Join(dir, "fixed.yaml")
			writeFile(t, custom, "jobs:\n  counting:\n    job: slow_count\n    cron: \"0 0 * * * ?\"\n    parameters: {to: 3, sleep_ms: 1}\n")
			writeFile(t, fixed, "attributes:\n  - {id: visits, type: num_of_unique, value: id, types: [page_view]}\n")

			serve := func(path string, extra ...string) (*proc, string) {
				addr := freeAddr(t)
				args := append([]string{"serve", "--addr", addr, "--log-level", "warn", "--stitch-interval", "-1s"}, storeArgs...)
				p := startBin(t, path, append(args, extra...)...)
				waitHealthy(t, "http://"+addr, p)
				return p, "http://" + addr
			}
			stop := func(p *proc) {
				t.Helper()
				if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				if code := p.wait(t, 60*time.Second); code != 0 {
					t.Fatalf("exit %d: %s", code, p.stderr)
				}
			}

			p, base := serve(customBin, "--config", custom)
			if _, _, body := httpDo(t, "GET", base+"/v1/jobs", "", nil); !strings.Contains(string(body), `"job":"counting"`) {
				t.Fatalf("the custom build does not schedule its job: %s", body)
			}
			stop(p)

			p, base = serve(bin)
			// The job is listed, disabled, with the reason; it does not run.
			var list struct {
				Jobs []struct {
					Job, Kind, Disabled string
					Enabled             bool
					NextRunAt           *time.Time `json:"next_run_at"`
				}
			}
			_, _, body := httpDo(t, "GET", base+"/v1/jobs", "", nil)
			if err := json.Unmarshal(body, &list); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, j := range list.Jobs {
				if j.Job == "counting" {
					found = true
					if j.Kind != "slow_count" || j.Enabled || j.NextRunAt != nil || !strings.Contains(j.Disabled, `no job named "slow_count" is built into this weft binary`) {
						t.Errorf("the stock binary schedules a job it lacks: %s", body)
					}
				}
			}
			if !found {
				t.Errorf("the disabled job is not listed: %s", body)
			}
			if status, _, body := httpDo(t, "POST", base+"/v1/jobs/counting/runs", "", []byte(`{}`)); status != 404 || !strings.Contains(string(body), "job_disabled") {
				t.Errorf("trigger of the disabled job: %d %s", status, body)
			}
			stop(p)
			if !strings.Contains(p.stderr.String(), "lacks") || !strings.Contains(p.stderr.String(), "jobs.counting") {
				t.Errorf("no warning naming the disabled job: %s", p.stderr)
			}

			p, base = serve(bin, "--config", fixed)
			_, _, body = httpDo(t, "GET", base+"/v1/config", "", nil)
			if !strings.Contains(string(body), "visits") || strings.Contains(string(body), "slow_count") {
				t.Fatalf("--config did not replace the stored config: %s", body)
			}
			stop(p)
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
