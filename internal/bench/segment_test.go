package bench_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/bench"
)

// BenchmarkIngestSegment sends analytics-node batches of 100 to POST
// /v1/batch from 8 clients and reports durable messages/s and the p99
// batch latency.
func BenchmarkIngestSegment(b *testing.B) {
	n := benchEvents()
	for _, backend := range []string{"duckdb", "postgres"} {
		b.Run(fmt.Sprintf("%s/messages=%d", backend, n), func(b *testing.B) {
			s := startServer(b, backend)
			seed := uint64(0)
			var total float64
			var p99 float64
			for b.Loop() {
				seed++ // new messages every round
				r, err := bench.Segment(context.Background(), bench.SegmentOpts{URL: s.URL(), Messages: n, Seed: seed})
				if err != nil {
					b.Fatal(err)
				}
				if r.Accepted != n {
					b.Fatalf("stored %d of %d", r.Accepted, n)
				}
				total += float64(n)
				p99 = max(p99, float64(r.P99.Milliseconds()))
			}
			b.ReportMetric(total/b.Elapsed().Seconds(), "messages/s")
			b.ReportMetric(p99, "p99-ms")
		})
	}
}

// TestSegmentSmoke runs the Segment benchmark at a small size on both
// backends: every message is stored once, and the same messages again
// (a retry of every batch) add nothing.
func TestSegmentSmoke(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend)
			opts := bench.SegmentOpts{URL: s.URL(), Messages: 2_050, Parallel: 3}
			r, err := bench.Segment(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Events != 2_050 || r.Accepted != 2_050 || r.Duplicates != 0 || r.EventsPerSec <= 0 || r.P50 <= 0 || r.Max < r.P99 ||
				!strings.HasPrefix(r.String(), "2050 messages in ") {
				t.Fatalf("report %s", r)
			}
			st, err := s.Store.Stats(context.Background())
			if err != nil || st.Events != 2_050 || st.Sources != 1 {
				t.Fatalf("store holds %+v, %v", st, err)
			}
			r, err = bench.Segment(context.Background(), opts)
			if err != nil || r.Accepted != 0 || r.Duplicates != 2_050 {
				t.Fatalf("resend: %v %v", r, err)
			}
			// A write key the server refuses ends the run with its answer.
			opts.WriteKey = "no such source!"
			if _, err := bench.Segment(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "POST /v1/batch: 401") {
				t.Fatalf("bad write key: %v", err)
			}
		})
	}
}
