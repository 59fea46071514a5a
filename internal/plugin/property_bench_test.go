package plugin

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store/dbtest"
)

// BenchmarkPropertiesPublish validates, stages and publishes one property
// for every customer, in batches of 100,000 users as a batch stage's
// data.json would hold them, then publishes the run.
func BenchmarkPropertiesPublish(b *testing.B) {
	for _, backend := range dbtest.Backends {
		b.Run(backend, func(b *testing.B) {
			db := dbtest.Open(b, backend)
			n := benchUsers(b)
			fillUsers(b, db, n)
			const batchSize = 100_000
			var docs [][]byte
			for start := 1; start <= n; start += batchSize {
				var buf bytes.Buffer
				buf.WriteString(`{"category": "Bench", "properties": ["score"], "updates": [`)
				for i := start; i < start+batchSize && i <= n; i++ {
					if i > start {
						buf.WriteByte(',')
					}
					fmt.Fprintf(&buf, `["u%d",%s]`, i, strconv.FormatFloat(float64(i%1000)/1000, 'g', -1, 64))
				}
				buf.WriteString("]}")
				docs = append(docs, buf.Bytes())
			}
			s := &Service{db: db, opts: Options{Now: time.Now}}
			ctx := context.Background()
			runs := 0
			var elapsed time.Duration
			for b.Loop() {
				runs++
				run := "bench-" + strconv.Itoa(runs)
				start := time.Now()
				var decls []PropertyDecl
				var parse, stage time.Duration
				for k, doc := range docs {
					t0 := time.Now()
					d, err := ParseBatchData(bytes.NewReader(doc))
					if err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					decls = d.Properties
					if _, err := s.Stage(ctx, run, k, d); err != nil {
						b.Fatal(err)
					}
					parse, stage = parse+t1.Sub(t0), stage+time.Since(t1)
				}
				t2 := time.Now()
				res, err := s.Publish(ctx, PublishParams{Plugin: "bench", Run: run, Started: time.Now().Add(time.Duration(runs) * time.Second), Category: "Bench", Properties: decls})
				if err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				b.Logf("parse %v, stage %v, publish %v", parse, stage, time.Since(t2))
				for _, c := range res.Properties {
					if c != int64(n) {
						b.Fatalf("published %d values, want %d", c, n)
					}
				}
			}
			b.ReportMetric(float64(n*runs)/elapsed.Seconds(), "updates/s")
		})
	}
}
