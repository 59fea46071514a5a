package bench_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// benchEvents is the size of one ingest run; WEFT_BENCH_EVENTS overrides
// it (BENCHMARKS.md uses 1,000,000).
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("WEFT_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

func startServer(tb testing.TB, backend string) *server.Server {
	// The data directory holds the server's key and export folders on
	// PostgreSQL too: never the package's own folder.
	cfg := server.Config{Addr: "127.0.0.1:0", DataDir: tb.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if backend == "postgres" {
		cfg.DB = pgtest.URL(tb)
	}
	s, err := server.Start(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Shutdown() })
	return s
}

// BenchmarkIngestHTTP sends demo events through POST /v1/events in batches
// of 5,000 and reports durable events/s.
func BenchmarkIngestHTTP(b *testing.B) {
	n := benchEvents()
	for _, backend := range []string{"duckdb", "postgres"} {
		b.Run(fmt.Sprintf("%s/events=%d", backend, n), func(b *testing.B) {
			s := startServer(b, backend)
			seed := uint64(0)
			var total float64
			for b.Loop() {
				seed++ // new events every round, never duplicates
				r, err := bench.Ingest(context.Background(), bench.IngestOpts{URL: s.URL(), Events: n, Seed: seed})
				if err != nil {
					b.Fatal(err)
				}
				if r.Accepted != n {
					b.Fatalf("accepted %d of %d", r.Accepted, n)
				}
				total += float64(n)
			}
			b.ReportMetric(total/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// TestIngestSmoke runs the benchmark code at a small size on both backends,
// so that it cannot rot between benchmark runs.
func TestIngestSmoke(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend)
			r, err := bench.Ingest(context.Background(), bench.IngestOpts{URL: s.URL(), Events: 20_000, BatchSize: 2000, StitchWait: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if r.Events != 20_000 || r.Accepted != 20_000 || r.EventsPerSec <= 0 || r.P50 <= 0 || r.Max < r.P99 {
				t.Fatalf("report %s", r)
			}
			// It waited for the background stitching to have every event.
			if r.StitchLag <= 0 || r.Unstitched || !strings.Contains(r.String(), "all stitched") {
				t.Fatalf("stitching not waited for: %s", r)
			}
			st, err := s.Store.Stats(context.Background())
			if err != nil || st.Events != 20_000 || st.StitchedSeq != st.MaxSeq {
				t.Fatalf("store holds %+v, %v", st, err)
			}
			// The same events again are all duplicates.
			r, err = bench.Ingest(context.Background(), bench.IngestOpts{URL: s.URL(), Events: 20_000, BatchSize: 2000})
			if err != nil || r.Accepted != 0 || r.Duplicates != 20_000 {
				t.Fatalf("resend: %v %v", r, err)
			}
		})
	}
}

func TestSummarizeIngestStitchLag(t *testing.T) {
	runs := []*bench.IngestReport{
		{EventsPerSec: 100, StitchLag: 3 * time.Second},
		{EventsPerSec: 120, StitchLag: 5 * time.Second},
		{EventsPerSec: 110, StitchLag: 4 * time.Second},
	}
	s := bench.SummarizeIngest(runs)
	if s.EventsPerSec != [3]float64{110, 100, 120} || s.StitchLag != [3]time.Duration{4 * time.Second, 3 * time.Second, 5 * time.Second} {
		t.Fatalf("summary %+v", s)
	}
	if !strings.Contains(s.String(), "all stitched 4s after the last batch (min 3s, max 5s)") {
		t.Fatalf("summary reads %q", s)
	}
	// A run that did not wait, or ran out of time, leaves the delay out.
	runs[1].Unstitched = true
	if s := bench.SummarizeIngest(runs); s.StitchLag != [3]time.Duration{} || strings.Contains(s.String(), "stitched") {
		t.Fatalf("summary with an unstitched run: %s", s)
	}
}
