package attr_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// BenchmarkCalculate calculates the demo attributes from scratch over demo
// events (WEFT_BENCH_EVENTS, default 200,000), stitched first.
func BenchmarkCalculate(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("WEFT_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	for _, backend := range dbtest.Backends {
		b.Run(fmt.Sprintf("%s/events=%d", backend, n), func(b *testing.B) {
			ctx := context.Background()
			f := newFixture(b, backend, string(demo.Config))
			in := event.NewIngester(f.s, nil)
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
			if _, err := f.stitch.Run(ctx, 0); err != nil {
				b.Fatal(err)
			}
			var entities int64
			for b.Loop() {
				res, err := f.attr.Run(ctx, attr.RunOptions{FromScratch: true})
				if err != nil {
					b.Fatal(err)
				}
				entities = res.Attributes[0].Entities
				for _, a := range res.Attributes {
					fmt.Fprintf(os.Stderr, "%-28s %8.0f ms\n", a.ID, a.DurationMS)
				}
				fmt.Fprintf(os.Stderr, "total %.0f ms\n", res.DurationMS)
				for _, a := range res.Attributes {
					if a.Status != "ok" {
						b.Fatalf("%s: %s", a.ID, a.Error)
					}
				}
			}
			b.ReportMetric(float64(entities)*float64(b.N)/b.Elapsed().Seconds(), "entities/s")
		})
	}
}
