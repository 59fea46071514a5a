package bench_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestStitchSmoke runs the stitching benchmark at a small size on both
// backends, so that it cannot rot between benchmark runs.
func TestStitchSmoke(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := dbtest.Open(t, backend)
			ctx := context.Background()
			r, err := bench.Stitch(ctx, bench.StitchOpts{DB: db, Events: 20_000, Customers: 2_000, Incremental: 1_000})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			if !r.Loaded || r.Rebuild.EventsProcessed != 20_000 || r.Incremental.EventsProcessed != 1_000 ||
				r.Entities <= 0 || r.Entities > 20_000 || r.Rebuild.EntitiesCreated < int(r.Entities) ||
				r.RebuildPerSec <= 0 || r.IncrementalTime <= 0 {
				t.Fatalf("report %s", r)
			}
			// Returning customers mostly join the entities they had.
			if r.Incremental.EntitiesCreated > 500 {
				t.Errorf("%d new entities from 1,000 events of returning customers", r.Incremental.EntitiesCreated)
			}
			var mapped int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM entity_events").Scan(&mapped); err != nil || mapped != 21_000 {
				t.Fatalf("%d events mapped to entities, want 21,000 (%v)", mapped, err)
			}
			// A store holding the events already is used as it is; another count is refused.
			if _, err := bench.Stitch(ctx, bench.StitchOpts{DB: db, Events: 21_000, Incremental: -1}); err != nil {
				t.Errorf("rerun on the loaded store: %v", err)
			}
			if _, err := bench.Stitch(ctx, bench.StitchOpts{DB: db, Events: 5_000}); err == nil {
				t.Error("a store with other events was accepted")
			}
		})
	}
}

// BenchmarkStitch runs the stitching benchmark on both backends:
// WEFT_BENCH_EVENTS events (default 200,000) of WEFT_BENCH_CUSTOMERS
// customers (default a tenth of the events), then an incremental pass of
// 10,000 events. BENCHMARKS.md gives the sizes it was run at.
func BenchmarkStitch(b *testing.B) {
	n := benchEvents()
	customers := n / 10
	if c, err := strconv.Atoi(os.Getenv("WEFT_BENCH_CUSTOMERS")); err == nil && c > 0 {
		customers = c
	}
	for _, backend := range dbtest.Backends {
		b.Run(fmt.Sprintf("%s/events=%d", backend, n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := dbtest.Open(b, backend)
				b.StartTimer()
				r, err := bench.Stitch(context.Background(), bench.StitchOpts{DB: db, Events: n, Customers: customers})
				if err != nil {
					b.Fatal(err)
				}
				b.Log(r)
				b.ReportMetric(r.RebuildPerSec, "rebuild-events/s")
				b.ReportMetric(float64(r.IncrementalTime.Milliseconds()), "incremental-ms")
				db.Close()
			}
		})
	}
}

// TestAttributesSmoke runs the attribute benchmark at a small size on both
// backends.
func TestAttributesSmoke(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := dbtest.Open(t, backend)
			r, err := bench.Attributes(context.Background(), bench.AttributesOpts{DB: db, Events: 20_000, Customers: 2_000, Dirty: 100, Compared: 500, Sample: 5})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			if r.LoadTime <= 0 || r.StitchTime <= 0 || r.Entities < 1000 || r.Attributes < 20 || len(r.FullAttributes) != r.Attributes ||
				r.Dirty != 100 || r.Compared != 500 || r.Sample != 5 || r.Speedup <= 0 {
				t.Fatalf("report %s", r)
			}
			for _, a := range r.FullAttributes {
				if a.Status != "ok" || a.Entities != r.Entities {
					t.Errorf("%+v", a)
				}
			}
		})
	}
}

// BenchmarkAttributes runs the attribute benchmark on both backends at
// WEFT_BENCH_EVENTS events (default 200,000) of WEFT_BENCH_CUSTOMERS
// customers (default a tenth), comparing with the reference path on a
// tenth of the entities.
func BenchmarkAttributes(b *testing.B) {
	n := benchEvents()
	customers := n / 10
	if c, err := strconv.Atoi(os.Getenv("WEFT_BENCH_CUSTOMERS")); err == nil && c > 0 {
		customers = c
	}
	for _, backend := range dbtest.Backends {
		b.Run(fmt.Sprintf("%s/events=%d", backend, n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := dbtest.Open(b, backend)
				b.StartTimer()
				r, err := bench.Attributes(context.Background(), bench.AttributesOpts{DB: db, Events: n, Customers: customers,
					Compared: customers / 10, Sample: 20})
				if err != nil {
					b.Fatal(err)
				}
				b.Log(r)
				b.ReportMetric(r.Full.Seconds(), "full-s")
				b.ReportMetric(float64(r.IncrementalTime.Milliseconds()), "incremental-ms")
				b.ReportMetric(r.Speedup, "x-reference")
				db.Close()
			}
		})
	}
}
