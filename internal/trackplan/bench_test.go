package trackplan_test

import (
	"context"
	"testing"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/trackplan"
)

// demoBatch is n demo events, as the ingester hands them to the check.
func demoBatch(n int) []store.EventInsert {
	var out []store.EventInsert
	for e := range demo.Stream(demo.Options{Seed: 1}, n) {
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
