package stitch_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// BenchmarkRebuild stitches demo events from scratch (WEFT_BENCH_EVENTS,
// default 200,000) and reports events/s.
func BenchmarkRebuild(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("WEFT_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	for _, backend := range backends {
		b.Run(fmt.Sprintf("%s/events=%d", backend, n), func(b *testing.B) {
			s := dbtest.Open(b, backend)
			ctx := context.Background()
			in := event.NewIngester(s, nil)
			var buf bytes.Buffer
			count := 0
			flush := func() {
				batch, err := event.Decode(&buf, event.FormatNDJSON)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := in.Ingest(ctx, batch); err != nil {
					b.Fatal(err)
				}
				buf.Reset()
			}
			for e := range demo.Stream(demo.Options{}, n) {
				buf.Write(e.AppendJSON(nil))
				buf.WriteByte('\n')
				if count++; count%10000 == 0 {
					flush()
				}
			}
			if buf.Len() > 0 {
				flush()
			}
			eng, err := stitch.New(s, demoConfig, nil)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := eng.Rebuild(ctx, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
