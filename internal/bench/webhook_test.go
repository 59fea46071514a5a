package bench_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestWebhookSmoke runs the webhook benchmark at a small size on both
// backends: every change reaches the receiver.
func TestWebhookSmoke(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := dbtest.Open(t, backend)
			r, err := bench.Webhook(context.Background(), bench.WebhookOpts{DB: db, Events: 5_000, Customers: 500, Changes: 1_234, BatchSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			if r.Changes != 1_234 || r.Requests != 13 || r.PerSecond() <= 0 {
				t.Fatalf("report %s", r)
			}
		})
	}
}

// BenchmarkWebhook delivers 100,000 membership changes (batches of 500)
// of the entities of WEFT_BENCH_EVENTS demo events (default 200,000) to a
// local receiver, on both backends.
func BenchmarkWebhook(b *testing.B) {
	n := benchEvents()
	for _, backend := range dbtest.Backends {
		b.Run(fmt.Sprintf("%s/changes=100000", backend), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := dbtest.Open(b, backend)
				b.StartTimer()
				r, err := bench.Webhook(context.Background(), bench.WebhookOpts{DB: db, Events: n, Customers: n / 10, Changes: 100_000})
				if err != nil {
					b.Fatal(err)
				}
				b.Log(r)
				b.ReportMetric(r.PerSecond(), "changes/s")
				db.Close()
			}
		})
	}
}
