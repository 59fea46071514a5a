package bench

import (
	"context"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store/dbtest"
)

func TestSchedulerSmoke(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			rep, err := Scheduler(context.Background(), SchedulerOpts{DB: dbtest.Open(t, backend), Performs: 200, Runs: 5})
			if err != nil {
				t.Fatal(err)
			}
			if rep.PerPerform <= 0 || rep.PerPerform > time.Second || rep.PerRun <= 0 {
				t.Fatalf("report %+v", rep)
			}
			t.Log(rep)
		})
	}
}

func BenchmarkScheduler(b *testing.B) {
	for _, backend := range dbtest.Backends {
		b.Run(backend, func(b *testing.B) {
			db := dbtest.Open(b, backend)
			for b.Loop() {
				rep, err := Scheduler(context.Background(), SchedulerOpts{DB: db, Performs: 2000, Runs: 50})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(rep.PerPerform.Microseconds())/1000, "ms/perform")
				b.ReportMetric(float64(rep.PerRun.Microseconds())/1000, "ms/run")
			}
		})
	}
}
