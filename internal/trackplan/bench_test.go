package trackplan_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/trackplan"
)

// demoBatch is n demo events, as the ingester hands them to the check.
func demoBatch(n int) []store.EventInsert {
	var out []store.EventInsert
	for e := range demo.Stream(demo.Options{Seed: 1}, n) {
		if e.ID == "" { // the API gives these one
			e.ID = "gen-" + strconv.Itoa(len(out))
		}
		out = append(out, store.EventInsert{ID: e.ID, EventTypeKey: store.EventTypeKey{SourceID: e.SourceID, Type: e.Type, Version: e.Version},
			EventTime: e.EventTime, Payload: e.Payload})
	}
	return out
}

// BenchmarkCheck500 checks a batch of 500 demo events against the demo
// plan (a schema for every type, every source in reject mode), which
// they all match: the cost the plan adds to a batch. "off" is the same
// batch with every source off.
func BenchmarkCheck500(b *testing.B) {
	events := demoBatch(500)
	for _, mode := range []string{"reject", "off"} {
		b.Run(mode, func(b *testing.B) {
			doc := bench.DemoTrackingPlan("reject")
			if mode == "off" {
				doc = bench.DemoTrackingPlan("off")
			}
			c, err := config.Parse([]byte(doc))
			if err != nil {
				b.Fatal(err)
			}
			checker := trackplan.NewChecker(nil, nil)
			checker.SetConfig(c.TrackingPlan)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				refused, err := checker.Check(ctx, events)
				if err != nil || len(refused) != 0 {
					b.Fatalf("%v %v", err, refused)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
		})
	}
}

// TestDemoPlanMatchesDemoEvents: the benchmark's plan fits the demo data
// (else the benchmark would measure refusals).
func TestDemoPlanMatchesDemoEvents(t *testing.T) {
	c, err := config.Parse([]byte(bench.DemoTrackingPlan("reject")))
	if err != nil {
		t.Fatal(err)
	}
	checker := trackplan.NewChecker(nil, nil)
	checker.SetConfig(c.TrackingPlan)
	refused, err := checker.Check(context.Background(), demoBatch(5000))
	if err != nil || len(refused) != 0 {
		t.Fatalf("%v, %d refused, the first %v", err, len(refused), refused[0])
	}
}

// BenchmarkIngest500 appends batches of 500 new demo events through the
// Ingester into each backend, with the demo plan on (every event checked)
// and without a plan: the ingest cost the plan adds, minus HTTP.
func BenchmarkIngest500(b *testing.B) {
	c, err := config.Parse([]byte(bench.DemoTrackingPlan("reject")))
	if err != nil {
		b.Fatal(err)
	}
	for _, backend := range dbtest.Backends {
		for _, plan := range []string{"off", "on"} {
			b.Run(backend+"/"+plan, func(b *testing.B) {
				db := dbtest.Open(b, backend)
				opts := &event.IngesterOpts{}
				if plan == "on" {
					checker := trackplan.NewChecker(db, nil)
					checker.SetConfig(c.TrackingPlan)
					opts.Check = checker.Check
				}
				in := event.NewIngester(db, opts)
				events := demoBatch(500 * b.N)
				ctx := context.Background()
				b.ResetTimer()
				for i := range b.N {
					res, err := in.Ingest(ctx, &event.Batch{Events: events[i*500 : (i+1)*500], Records: 500})
					if err != nil || res.Accepted+res.Duplicates != 500 {
						b.Fatalf("%v %+v", err, res)
					}
				}
				b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
