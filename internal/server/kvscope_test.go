package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/job"
)

func init() {
	job.Register(job.Info{Name: "server_test_kv", New: func() job.Job { return kvScopeJob{} }})
}

// kvScopeJob writes its job's name to Env.KV and appends it to a list of
// Env.SharedKV.
type kvScopeJob struct{}

func (kvScopeJob) Prepare(ctx context.Context, inv *job.Invocation, _ *job.Status, _ bool) (*job.Status, error) {
	if _, err := inv.KV.Put(ctx, "me", job.Record{"job": inv.Job}); err != nil {
		return nil, err
	}
	if err := inv.SharedKV.Append(ctx, "all", "jobs", inv.Job); err != nil {
		return nil, err
	}
	return &job.Status{Complete: true}, nil
}

func (kvScopeJob) Perform(_ context.Context, st *job.Status) (*job.Status, error) { return st, nil }

// TestJobKVScopes: a server hands each declared job its own Env.KV and
// every job the same Env.SharedKV.
func TestJobKVScopes(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := startBoundary(t, backend, Config{}, nil)
			if code, body := do(t, "PUT", s.URL()+"/v1/config", "jobs:\n  alpha: {job: server_test_kv}\n  beta: {job: server_test_kv}\n"); code != 200 {
				t.Fatalf("apply: %d %s", code, body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, name := range []string{"alpha", "beta"} {
				code, body := do(t, "POST", s.URL()+"/v1/jobs/"+name+"/runs", "")
				var run store.JobRun
				if code != 202 || json.Unmarshal([]byte(body), &run) != nil {
					t.Fatalf("trigger %s: %d %s", name, code, body)
				}
				if done, err := s.Pipeline.Jobs().Wait(ctx, run.ID); err != nil || done.Status != store.RunComplete {
					t.Fatalf("run of %s: %+v, %v", name, done, err)
				}
			}
			for store, want := range map[job.KV]job.Record{
				s.KV.ForJob("alpha"): {"job": "alpha"},
				s.KV.ForJob("beta"):  {"job": "beta"},
				s.KV:                 {},
			} {
				if got, err := store.Get(ctx, "me"); err != nil || len(got) != len(want) || got["job"] != want["job"] {
					t.Fatalf("me = %v, %v; want %v", got, err, want)
				}
			}
			if got, err := s.KV.Get(ctx, "all"); err != nil || len(got["jobs"].([]any)) != 2 {
				t.Fatalf("shared list = %v, %v", got, err)
			}
		})
	}
}
