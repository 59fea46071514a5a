package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/store"
)

// TestBlobImportResumesAfterKill imports a folder of NDJSON files with the
// built-in blob_import job, kills the server with SIGKILL while the run is
// under way, restarts it, and checks that the resumed run imports every
// row exactly once, reports the bad one with file and line, and that a
// second run imports nothing.
func TestBlobImportResumesAfterKill(t *testing.T) {
	const files, perFile = 10, 10_000
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			base := time.Now().Add(-time.Hour).Truncate(time.Second)
			for f := range files {
				var b strings.Builder
				for i := range perFile {
					n := f*perFile + i
					id := ""
					if n%2 == 0 { // half carry an id, half get a derived one
						id = fmt.Sprintf(`"id":"row-%d",`, n)
					}
					fmt.Fprintf(&b, `{%s"source_id":"files","type":"row","version":"1","event_time":"2026-01-02T03:04:05Z","payload":{"n":%d}}`+"\n", id, n)
					if f == 3 && i == 99 {
						b.WriteString("{not an event\n") // line 101 of f03.ndjson
					}
				}
				path := filepath.Join(dir, fmt.Sprintf("f%02d.ndjson", f))
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				mod := base.Add(time.Duration(f) * time.Second)
				if err := os.Chtimes(path, mod, mod); err != nil {
					t.Fatal(err)
				}
			}
			params, _ := json.Marshal(map[string]any{"source": "file://" + dir, "format": "ndjson", "target": "events", "batch_size": 2000})

			addr := freeAddr(t)
			url := "http://" + addr
			args := append(serveArgs(t, backend, addr), "--job-lease", "2s", "--stitch-interval", "-1s", "--import-folder", dir)
			srv := start(t, args...)
			waitHealthy(t, url, srv)
			c := client.New(url, "")
			ctx := context.Background()

			trigger := func() string {
				t.Helper()
				p := start(t, "jobs", "trigger", "blob_import", "--server", url, "--params", string(params))
				if p.wait(t, 30*time.Second) != 0 {
					t.Fatalf("trigger: %s", p.stderr)
				}
				return strings.TrimSpace(p.stdout.String())
			}
			id := trigger()
			// Kill the server once a few files are in (list + 3 files).
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				run, err := c.JobRun(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if run.Performs >= 4 {
					if run.Status == store.RunComplete {
						t.Fatal("the run completed before the kill")
					}
					break
				}
				if time.Now().After(deadline) || run.Status != store.RunPending && run.Status != store.RunRunning {
					t.Fatalf("run never got going: %+v", run)
				}
			}
			srv.kill()

			srv = start(t, args...)
			waitHealthy(t, url, srv)
			run := waitRun(t, c, id)
			var final struct {
				State struct {
					FilesDone  int   `json:"files_done"`
					Records    int64 `json:"records"`
					Rejected   int64 `json:"rejected"`
					Rejections []struct {
						File string `json:"file"`
						Line int    `json:"line"`
					} `json:"rejections"`
				} `json:"state"`
			}
			if err := json.Unmarshal(run.Checkpoint, &final); err != nil {
				t.Fatal(err)
			}
			st := final.State
			if run.Status != store.RunComplete || run.Attempts != 1 || len(run.Errors) != 0 ||
				st.FilesDone != files || st.Records != files*perFile || st.Rejected != 1 ||
				len(st.Rejections) != 1 || st.Rejections[0].File != "f03.ndjson" || st.Rejections[0].Line != 101 {
				t.Fatalf("run after the restart: %+v, state %+v", run, st)
			}
			stats, err := c.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Events != files*perFile {
				t.Fatalf("%d events in the log, want %d: every row exactly once", stats.Events, files*perFile)
			}
			// The run's log shows the fresh start and the resume.
			logs := start(t, "jobs", "logs", id, "--server", url)
			if logs.wait(t, 30*time.Second) != 0 || !strings.Contains(logs.stdout.String(), "starting the run") ||
				!strings.Contains(logs.stdout.String(), "resuming the run") ||
				!strings.Contains(logs.stdout.String(), "row rejected file=f03.ndjson line=101 reason=") {
				t.Fatalf("logs:\n%s%s", logs.stdout, logs.stderr)
			}
			notes := start(t, "notifications", "--server", url)
			if notes.wait(t, 30*time.Second) != 0 ||
				!strings.Contains(notes.stdout.String(), fmt.Sprintf("Imported %d records from %d files", files*perFile, files)) {
				t.Fatalf("notifications:\n%s%s", notes.stdout, notes.stderr)
			}

			// A second run right after imports nothing.
			run = waitRun(t, c, trigger())
			if run.Status != store.RunComplete || !strings.Contains(string(run.Checkpoint), `"files_done":0`) {
				t.Fatalf("second run: %+v", run)
			}
			if stats, err = c.Stats(ctx); err != nil || stats.Events != files*perFile {
				t.Fatalf("%d events after the second run (%v)", stats.Events, err)
			}
		})
	}
}

// waitRun waits for a run to finish and returns it.
func waitRun(t *testing.T, c *client.Client, id string) *store.JobRun {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		run, err := c.JobRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		switch run.Status {
		case store.RunComplete, store.RunError, store.RunTerminated:
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not finish: %+v", id, run)
		}
	}
}
