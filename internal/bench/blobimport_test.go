package bench_test

import (
	"context"
	"testing"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestBlobImportSmoke runs the blob import benchmark at a small size on
// both backends, so that it cannot rot between benchmark runs.
func TestBlobImportSmoke(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			r, err := bench.BlobImport(context.Background(), bench.BlobImportOpts{DB: dbtest.Open(t, backend), Events: 20_000, Files: 4, BatchSize: 5_000})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			// list, one perform per file, the notification
			if r.Performs != 6 || r.Imported != 20_000 || r.Rejected != 0 || r.StoredEvents != 20_000 || r.EventsPerSec <= 0 {
				t.Fatalf("report %s", r)
			}
		})
	}
}

// BenchmarkBlobImport imports WEFT_BENCH_EVENTS demo events (200,000 by
// default; BENCHMARKS.md uses 1,000,000) from NDJSON files in a local
// directory into the event log.
func BenchmarkBlobImport(b *testing.B) {
	for _, backend := range dbtest.Backends {
		b.Run(backend, func(b *testing.B) {
			var r *bench.BlobImportReport
			for b.Loop() {
				b.StopTimer()
				db := dbtest.Open(b, backend)
				b.StartTimer()
				var err error
				if r, err = bench.BlobImport(context.Background(), bench.BlobImportOpts{DB: db, Events: benchEvents()}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(r.EventsPerSec, "events/s")
		})
	}
}
