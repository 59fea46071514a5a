package duckdb

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// BenchmarkEventAppend measures the store's append alone (no HTTP, no
// decoding): demo events in batches of 5,000, as POST /v1/events appends
// them, into a fresh store, appended directly (AppendEvents) or staged
// first (the path of batches with new types or suppressed events).
// WEFT_BENCH_EVENTS sets the count (default 200,000). Besides events/s it
// reports the process's CPU time per event, which other work on the
// machine inflates less than the wall clock, and the time and CPU of the
// checkpoint that then folds the events into the database file, per event.
func BenchmarkEventAppend(b *testing.B) {
	n := 200_000
	if s := os.Getenv("WEFT_BENCH_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	batches := demoBatches(b, n, 5000)
	for _, staged := range []bool{false, true} {
		name := "direct"
		if staged {
			name = "staged"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var wall, cpu, checkpoint, checkpointCPU time.Duration
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				be, err := newBackend(filepath.Join(dir, FileName), (*Settings)(nil).WithDefaults(dir))
				if err != nil {
					b.Fatal(err)
				}
				var sb store.Backend = be
				if staged {
					sb = stagedOnly{be}
				}
				s, err := store.Open(ctx, sb, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				for _, events := range batches {
					if _, err := s.EventAppendMany(ctx, &store.EventAppendManyParams{Events: events}); err != nil {
						b.Fatal(err)
					}
				}
				wall, cpu = wall+time.Since(start), cpu+cpuTime()-cpu0
				b.StopTimer()
				// What folding these events from the WAL into the file
				// costs: the work DuckDB does inside the commit that crosses
				// checkpoint_threshold (256 MB of WAL, some 400,000 demo
				// events), stalling the appends behind it.
				ck, ckCPU := time.Now(), cpuTime()
				if _, err := be.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
					b.Fatal(err)
				}
				checkpoint, checkpointCPU = checkpoint+time.Since(ck), checkpointCPU+cpuTime()-ckCPU
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/wall.Seconds(), "events/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n*b.N), "cpu-ns/event")
			b.ReportMetric(float64(checkpoint.Nanoseconds())/float64(n*b.N), "checkpoint-ns/event")
			b.ReportMetric(float64(checkpointCPU.Nanoseconds())/float64(n*b.N), "checkpoint-cpu-ns/event")
		})
	}
}

// cpuTime is the user and system time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// demoBatches decodes n demo events into batches of size.
func demoBatches(tb testing.TB, n, size int) [][]store.EventInsert {
	var out [][]store.EventInsert
	var body []byte
	flush := func() {
		if len(body) == 0 {
			return
		}
		batch, err := event.Decode(bytes.NewReader(body), event.FormatNDJSON)
		if err != nil || len(batch.Rejected) > 0 {
			tb.Fatalf("decode demo events: %v %v", err, batch.Rejected)
		}
		out = append(out, batch.Events)
		body = body[:0]
	}
	i := 0
	for e := range demo.Stream(demo.Options{Seed: 1}, n) {
		body = append(e.AppendJSON(body), '\n')
		if i++; i%size == 0 {
			flush()
		}
	}
	flush()
	return out
}
