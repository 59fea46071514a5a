package bench_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestPrivacySmoke runs the privacy benchmark at a small size on both
// backends: the people are erased, the list is full for the second
// figure, and the erased people's identifiers stay suppressed after.
func TestPrivacySmoke(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := dbtest.Open(t, backend)
			ctx := context.Background()
			r, err := bench.Privacy(ctx, bench.PrivacyOpts{DB: db, Events: 20_000, Customers: 2_000, Erase: 50, Suppressed: 5_000, Ingest: 2_000, Rounds: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			if r.People != 50 || r.Erased.Entities < 50 || r.Erased.Events < 50 || r.Erased.Suppressed < 50 ||
				r.Suppressed != 5_000 || len(r.With) != 1 || r.With[0] <= 0 || r.Without[0] <= 0 {
				t.Fatalf("report %s", r)
			}
			// The rounds bring new people and a few erased ones back: those,
			// and only those, are dropped, decided in Go without the rules'
			// SQL.
			if r.Returning != 2 || r.Dropped != r.Returning || r.InGo < 1 || r.InSQL != 0 || r.WithCPU[0] <= 0 || r.WithoutCPU[0] <= 0 {
				t.Errorf("returning %d, dropped %d, batches in Go %d, in SQL %d, CPU an event %v %v; want 2, 2, at least 1, 0, some", r.Returning, r.Dropped, r.InGo, r.InSQL, r.WithoutCPU, r.WithCPU)
			}
			var left int64
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM suppressed_identifiers").Scan(&left); err != nil || left != r.Erased.Suppressed {
				t.Errorf("%d identifiers suppressed after the benchmark, want the erased people's %d (%v)", left, r.Erased.Suppressed, err)
			}
		})
	}
}

// BenchmarkPrivacy runs the privacy benchmark on both backends at
// WEFT_BENCH_EVENTS events (default 200,000) of a tenth as many
// customers, erasing 1,000 people and ingesting with 100,000 suppressed
// identifiers.
func BenchmarkPrivacy(b *testing.B) {
	n := benchEvents()
	for _, backend := range dbtest.Backends {
		b.Run(fmt.Sprintf("%s/events=%d", backend, n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := dbtest.Open(b, backend)
				b.StartTimer()
				r, err := bench.Privacy(context.Background(), bench.PrivacyOpts{DB: db, Events: n, Customers: n / 10, Ingest: 50_000, Rounds: 1})
				if err != nil {
					b.Fatal(err)
				}
				b.Log(r)
				b.ReportMetric(float64(r.EraseTime.Milliseconds()), "erase-ms")
				b.ReportMetric(r.Without[0], "ingest-events/s")
				b.ReportMetric(r.With[0], "suppressed-ingest-events/s")
				db.Close()
			}
		})
	}
}
