package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shPlugin writes a shell script plugin and returns its command.
func shPlugin(t *testing.T, script string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plugin.sh")
	if err := os.WriteFile(path, []byte("set -e\n"+script), 0o700); err != nil {
		t.Fatal(err)
	}
	return []string{"/bin/sh", path}
}

func TestExec(t *testing.T) {
	t.Setenv("WEFT_SECRET_KEY", "do-not-leak")
	manifest := &Manifest{Stage: "initial", InputParams: map[string]any{"k": 4.0}}
	for _, tc := range []struct {
		name, script string
		timeout      time.Duration
		title, msg   string
	}{
		{name: "crash", script: `echo boom >&2; exit 3`, title: "Plugin crashed", msg: "exit status 3"},
		{name: "no results", script: `true`, title: "Invalid results", msg: "no results.json"},
		{name: "not JSON", script: `echo '[1' > "$2"`, title: "Invalid results", msg: "not a JSON object"},
		{name: "array", script: `echo '[1]' > "$2"`, title: "Invalid results", msg: "not a JSON object"},
		{name: "no status", script: `echo '{"data": {}}' > "$2"`, title: "Invalid results", msg: "no status"},
		{name: "plugin error", script: `echo '{"status": {"code": "error", "title": "Too few users", "explanation": "need 100"}}' > "$2"`, title: "Too few users", msg: "need 100"},
		{name: "plugin error and exit 1", script: `echo trace >&2; echo '{"status": {"code": "error", "title": "No goal", "explanation": "set one"}}' > "$2"; exit 1`, title: "No goal", msg: "set one"},
		{name: "crash with success results", script: `echo '{"status": {"code": "success"}}' > "$2"; exit 2`, title: "Plugin crashed", msg: "exit status 2"},
		{name: "batch too small", script: `echo '{"status": {"code": "success"}, "batches": {"maxBatchSize": 999}}' > "$2"`, title: "Invalid results", msg: "maxBatchSize is 999"},
		{name: "batch too large", script: `echo '{"status": {"code": "success"}, "batches": {"maxBatchSize": 10000001}}' > "$2"`, title: "Invalid results", msg: "1,000 to 10,000,000"},
		{name: "batch fraction", script: `echo '{"status": {"code": "success"}, "batches": {"maxBatchSize": 1500.5}}' > "$2"`, title: "Invalid results", msg: "whole number"},
		{name: "timeout", script: `sleep 30 & sleep 30`, timeout: 300 * time.Millisecond, title: "Plugin timed out", msg: "longer than 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := Exec(context.Background(), ExecParams{Command: shPlugin(t, tc.script), Dir: t.TempDir(), Manifest: manifest, Timeout: tc.timeout})
			var f *StageFailure
			if !errors.As(err, &f) || f.Status.Code == "success" || f.Status.Title == nil || *f.Status.Title != tc.title || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %q with %q", err, tc.title, tc.msg)
			}
			if tc.timeout > 0 && time.Since(start) > 10*time.Second {
				t.Errorf("the timeout took %v: the process group was not killed", time.Since(start))
			}
			if tc.name == "crash" && (f.Status.Backtrace == nil || *f.Status.Backtrace != "boom\n") {
				t.Errorf("backtrace %v", f.Status.Backtrace)
			}
		})
	}

	t.Run("success", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		dir := t.TempDir()
		cmd := shPlugin(t, `
test "$1" = manifest.json
test "$(pwd)" = "`+dir+`"
echo "hello from stdout"
echo "warning on stderr" >&2
head -c 3000 /dev/zero | tr '\0' x; echo
n=$(env | grep -c WEFT || true)
{ printf '{"data": {"env": "%s", "manifest": ' "$n"; cat "$1"; printf '}, "status": {"code": "success", "title": null}, "batches": {"options": {"a": 1}}, "extra": true}'; } > "$2"
`)
		res, err := Exec(context.Background(), ExecParams{Command: cmd, Dir: dir, Manifest: manifest, MaxOutputBytes: 1000,
			Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		var data struct {
			Env      string   `json:"env"`
			Manifest Manifest `json:"manifest"`
		}
		if err := json.Unmarshal(res.Data, &data); err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(data.Env) != "0" || data.Manifest.Stage != "initial" || data.Manifest.InputParams["k"] != 4.0 {
			t.Errorf("data %+v (env is not scrubbed when WEFT variables show)", data)
		}
		if res.Batches == nil || res.Batches.MaxBatchSize != MaxBatchSizeDefault || string(res.Batches.Options) != `{"a": 1}` {
			t.Errorf("batches %+v", res.Batches)
		}
		l := logs.String()
		// A plugin's stderr is its log, not a warning.
		if !strings.Contains(l, "hello from stdout") || !strings.Contains(l, "level=INFO msg=\"warning on stderr\" stream=stderr") ||
			strings.Contains(l, "level=WARN msg=\"warning on stderr\"") ||
			strings.Contains(l, "xxxxxxxxxx") || !strings.Contains(l, "dropped_bytes=3000") {
			t.Errorf("logs:\n%s", l)
		}
	})
}

func TestBatchRanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		users int64
		size  int
		n     int
	}{{0, 1000, 1}, {1000, 1000, 1}, {1001, 1000, 2}, {1_000_000, 10_000, 100}} {
		rs := BatchRanges(tc.users, tc.size)
		if len(rs) != tc.n || rs[0].Start != 0 || rs[len(rs)-1].End != 1 {
			t.Errorf("%d users by %d: %v", tc.users, tc.size, rs)
		}
		for i := 1; i < len(rs); i++ {
			if rs[i].Start != rs[i-1].End {
				t.Errorf("%d users by %d: gap at %d", tc.users, tc.size, i)
			}
		}
	}
}

// TestManifestParamsFloats: numbers in inputParams are always floats on
// the wire (the spec's §3.1), whole ones included.
func TestManifestParamsFloats(t *testing.T) {
	m := Manifest{InputParams: Params{"iterations": 4.0, "rate": 0.25, "big": 1e21, "name": "x", "on": true}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `"inputParams":{"big":1e+21,"iterations":4.0,"name":"x","on":true,"rate":0.25}`
	if !strings.Contains(string(b), want) {
		t.Errorf("manifest %s, want %s", b, want)
	}
}
