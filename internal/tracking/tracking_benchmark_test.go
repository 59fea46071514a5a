package tracking_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/tracking"
)

// nodeBatch is a batch of n track calls as analytics-node sends them.
func nodeBatch(n int) []byte {
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = fmt.Sprintf(`{"userId":"user-%d","event":"Order Completed","properties":{"orderId":"o-%d","total":%d.5,"currency":"EUR","products":[{"sku":"sku-%d","price":19.99,"quantity":2}]},`+
			`"context":{"library":{"name":"@segment/analytics-node","version":"2.2.0"}},"type":"track","messageId":"node-next-1767323045000-%08d-7b2e-4c1a-9f00-0a1b2c3d4e5f",`+
			`"timestamp":"2026-01-02T03:04:05.%03dZ","_metadata":{"nodeVersion":"22.11.0","jsRuntime":"node"},"integrations":{}}`, i%1000, i, i%500, i%50, i, i%1000)
	}
	return []byte(`{"batch":[` + strings.Join(msgs, ",") + `],"sentAt":"2026-01-02T03:04:06.000Z"}`)
}

// BenchmarkDecodeMap: parse and map a batch of 100 messages, the
// benchmark's unit (weft bench ingest --protocol segment).
func BenchmarkDecodeMap(b *testing.B) {
	body := nodeBatch(100)
	at := time.Now()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := tracking.Parse(body, "")
		if err != nil {
			b.Fatal(err)
		}
		if out := p.Map("site", at); len(out.Events) != 100 {
			b.Fatalf("rejected %v", out.Rejected)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/message")
}
