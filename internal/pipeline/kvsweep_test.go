package pipeline

import (
	"context"
	"log/slog"
	"testing"

	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestKVSweepSchedule: the kv sweep is a built-in job on its default
// schedule unless weft.yaml declares it, which can move or disable it.
func TestKVSweepSchedule(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			p, err := New(ctx, dbtest.Open(t, backend), Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			sweep := func() jobrunner.Schedule {
				t.Helper()
				for _, s := range p.Jobs().Schedules() {
					if s.Job == kv.SweepJob {
						return s
					}
				}
				t.Fatalf("no %s among the schedules %+v", kv.SweepJob, p.Jobs().Schedules())
				return jobrunner.Schedule{}
			}
			if s := sweep(); s.Kind != kv.SweepJob || s.Cron == nil || s.Cron.String() != kv.SweepCronDefault || !s.Enabled {
				t.Fatalf("default schedule: %+v", s)
			}
			if _, err := p.Apply(ctx, []byte("jobs:\n  kv_sweep: {cron: \"0 0 4 * * ?\"}\n")); err != nil {
				t.Fatal(err)
			}
			if s := sweep(); s.Cron == nil || s.Cron.String() != "0 0 4 * * ?" || !s.Enabled {
				t.Fatalf("declared schedule: %+v", s)
			}
			if _, err := p.Apply(ctx, []byte("jobs:\n  kv_sweep: {enabled: false}\n")); err != nil {
				t.Fatal(err)
			}
			if s := sweep(); s.Enabled {
				t.Fatalf("disabled schedule: %+v", s)
			}
			if _, err := p.Apply(ctx, []byte("jobs:\n  kv_sweep: {parameters: {older_than: 1}}\n")); err == nil {
				t.Fatal("a parameter the sweep does not take was accepted")
			}
		})
	}
}
