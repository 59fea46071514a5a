package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// TestKVSweepJob triggers the built-in kv sweep through the API: it
// deletes the expired records, of every kv store, and keeps the live ones.
func TestKVSweepJob(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := openStore(t, backend)
			// Records written two hours ago: with a ttl of an hour they have
			// expired, with ten hours they live on.
			past := kv.New(st, &kv.Options{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
			put := func(s job.KV, key string) {
				t.Helper()
				if _, err := s.Put(ctx, key, job.Record{"v": key}); err != nil {
					t.Fatal(err)
				}
			}
			put(past.WithTTL(time.Hour), "expired")
			put(past.ForJob("nightly").WithTTL(time.Hour), "expired")
			put(past.WithTTL(10*time.Hour), "live")
			put(past, "forever")
			put(past.ForJob("nightly"), "forever")

			s := newServerOn(t, st, api.Config{})
			r := s.do(t, "POST", "/v1/jobs/"+kv.SweepJob+"/runs", nil, nil)
			if r.status != 202 {
				t.Fatalf("trigger: %d %s", r.status, r.body)
			}
			run := waitRun(t, s, decode[store.JobRun](t, r).ID)
			if run.Status != "complete" || string(run.Checkpoint) != `{"state":{"deleted":2},"complete":true}` {
				t.Fatalf("run: %+v", run)
			}
			var left []string
			rows, err := st.QueryContext(ctx, "SELECT store || '/' || key FROM kv_records ORDER BY 1")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					t.Fatal(err)
				}
				left = append(left, k)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			want := "[kv/forever kv/live kv:nightly/forever]"
			if got := fmt.Sprint(left); got != want {
				t.Fatalf("records left %s, want %s", got, want)
			}
			logs := decode[struct{ Logs []store.JobLog }](t, s.do(t, "GET", "/v1/jobs/runs/"+run.ID+"/logs", nil, nil)).Logs
			if len(logs) != 1 || logs[0].Message != "expired kv records deleted" || string(logs[0].Fields) != `{"records":2}` {
				t.Fatalf("logs: %+v", logs)
			}
		})
	}
}
