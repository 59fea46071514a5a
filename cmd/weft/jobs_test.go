package main_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/store"
)

// TestJobResumesAfterKill runs a job of a custom weft build (the test job
// of testdata/customweft, registered the way a user registers theirs),
// kills the server with SIGKILL between performs, restarts it, and checks
// that the run resumes from its checkpoint under the same id and appends
// every event exactly once.
func TestJobResumesAfterKill(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			addr := freeAddr(t)
			base := "http://" + addr
			args := append(serveArgs(t, backend, addr), "--job-lease", "2s", "--stitch-interval", "-1s")
			srv := startBin(t, customBin, args...)
			waitHealthy(t, base, srv)
			c := client.New(base, "")
			ctx := context.Background()

			trigger := startBin(t, customBin, "jobs", "trigger", "slow_count", "--server", base, "--param", "to=30", "--params", `{"sleep_ms": 60}`)
			if trigger.wait(t, 30*time.Second) != 0 {
				t.Fatalf("trigger: %s", trigger.stderr)
			}
			id := strings.TrimSpace(trigger.stdout.String())
			var before *store.JobRun
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				run, err := c.JobRun(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if run.Performs >= 8 {
					before = run
					break
				}
				if time.Now().After(deadline) || run.Status != store.RunPending && run.Status != store.RunRunning {
					t.Fatalf("run never got going: %+v", run)
				}
			}
			srv.kill()

			srv = startBin(t, customBin, args...)
			waitHealthy(t, base, srv)
			var run *store.JobRun
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				var err error
				if run, err = c.JobRun(ctx, id); err != nil {
					t.Fatal(err)
				}
				if run.Status == store.RunComplete || run.Status == store.RunError || run.Status == store.RunTerminated {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the run did not finish after the restart: %+v", run)
				}
			}
			if run.Status != store.RunComplete || run.Attempts != 1 || len(run.Errors) != 0 || run.Performs != 30 ||
				string(run.Checkpoint) != `{"state":{"n":30},"complete":true}` {
				t.Fatalf("run after the restart: %+v (before the kill: %d performs)", run, before.Performs)
			}
			// Every event once: the log has exactly slow-0..slow-29.
			page, err := c.Events(ctx, client.EventsParams{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, e := range page.Events {
				seen[e.ID]++
			}
			if len(page.Events) != 30 || len(seen) != 30 || seen["slow-0"] != 1 || seen["slow-29"] != 1 {
				t.Fatalf("%d events, %d distinct: %v", len(page.Events), len(seen), seen)
			}
			// The run's log shows the fresh prepare and the resume.
			logs := startBin(t, customBin, "jobs", "logs", id, "--server", base)
			if logs.wait(t, 30*time.Second) != 0 {
				t.Fatal(logs.stderr)
			}
			out := logs.stdout.String()
			if !strings.Contains(out, "INFO  prepare attempt=1 resuming=false") || !strings.Contains(out, "INFO  prepare attempt=1 resuming=true") {
				t.Fatalf("logs:\n%s", out)
			}
			list := startBin(t, customBin, "jobs", "list", "--job", "slow_count", "--server", base)
			if list.wait(t, 30*time.Second) != 0 || !strings.Contains(list.stdout.String(), id+"  slow_count  COMPLETE") {
				t.Fatalf("jobs list:\n%s%s", list.stdout, list.stderr)
			}
			notes := startBin(t, customBin, "notifications", "--server", base)
			if notes.wait(t, 30*time.Second) != 0 || !strings.Contains(notes.stdout.String(), "SUCCESS  Slow count  Counted  30 events") {
				t.Fatalf("notifications:\n%s%s", notes.stdout, notes.stderr)
			}
		})
	}
}
