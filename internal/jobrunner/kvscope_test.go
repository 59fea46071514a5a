package jobrunner

import (
	"context"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/job"
)

// kvWriter counts its runs in Env.KV and Env.SharedKV.
type kvWriter struct{}

func (kvWriter) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, _ bool) (*job.Status, error) {
	for _, s := range []job.KV{inv.KV, inv.SharedKV} {
		if _, err := s.Increment(ctx, "runs", "n", 1); err != nil {
			return nil, err
		}
	}
	return &job.Status{Complete: true}, nil
}

func (kvWriter) Perform(_ context.Context, st *job.Status) (*job.Status, error) { return st, nil }

// TestJobKVScope: with JobKV set, each declared job has its own Env.KV
// while Env.SharedKV is one store for all.
func TestJobKVScope(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := dbtest.Open(t, backend)
			shared := kv.New(db, nil)
			f := &fixture{db: db, r: New(db, Options{Poll: 10 * time.Millisecond, Worker: "test",
				Builtin: []job.Info{{Name: "kv_writer", New: func() job.Job { return kvWriter{} }}},
				Env:     job.Env{KV: shared, SharedKV: shared},
				JobKV:   func(name string) job.KV { return shared.ForJob(name) },
			})}
			f.r.SetSchedules([]Schedule{{Job: "first", Kind: "kv_writer", Enabled: true}, {Job: "second", Kind: "kv_writer", Enabled: true}})
			f.start(t)
			for _, name := range []string{"first", "second", "first"} {
				if run := f.runToEnd(t, name, nil); run.Status != "complete" {
					t.Fatalf("run of %s: %+v", name, run)
				}
			}
			for store, want := range map[*kv.KV]float64{shared: 3, shared.ForJob("first"): 2, shared.ForJob("second"): 1} {
				rec, err := store.Get(context.Background(), "runs")
				if err != nil {
					t.Fatal(err)
				}
				if rec["n"] != want {
					t.Fatalf("runs counted in a store: %v, want %v", rec, want)
				}
			}
		})
	}
}
