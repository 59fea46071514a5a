package bench_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestSegmentsSmoke runs the segments benchmark at a small size on both
// backends.
func TestSegmentsSmoke(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := dbtest.Open(t, backend)
			r, err := bench.Segments(context.Background(), bench.SegmentsOpts{DB: db, Events: 20_000, Customers: 2_000, Changed: 100})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			if r.LoadTime <= 0 || r.StitchTime <= 0 || r.AttributesTime <= 0 || len(r.FullSegments) != 10 || len(r.IncrementalSegments) != 10 || r.PreviewCount <= 0 {
				t.Fatalf("report %s", r)
			}
			empty := 0
			for i, s := range r.FullSegments {
				if !s.Full || s.Size == 0 {
					empty++
				}
				if inc := r.IncrementalSegments[i]; inc.Full || inc.Candidates < 100 || inc.Candidates > 1000 {
					t.Errorf("incremental %+v", inc)
				}
			}
			if empty > 1 {
				t.Errorf("%d segments are empty: %s", empty, r)
			}
		})
	}
}

// BenchmarkSegments runs the segments benchmark on both backends at
// WEFT_BENCH_EVENTS events (default 200,000) of a tenth as many customers,
// with 10,000 changed entities (a twentieth of the events, at most).
func BenchmarkSegments(b *testing.B) {
	n := benchEvents()
	for _, backend := range dbtest.Backends {
		b.Run(fmt.Sprintf("%s/events=%d", backend, n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := dbtest.Open(b, backend)
				b.StartTimer()
				r, err := bench.Segments(context.Background(), bench.SegmentsOpts{DB: db, Events: n, Customers: n / 10, Changed: min(10_000, n/20)})
				if err != nil {
					b.Fatal(err)
				}
				b.Log(r)
				b.ReportMetric(float64(r.Full.Milliseconds()), "full-ms")
				b.ReportMetric(float64(r.Incremental.Milliseconds()), "incremental-ms")
				b.ReportMetric(float64(r.Preview.Microseconds())/1000, "preview-ms")
				db.Close()
			}
		})
	}
}
