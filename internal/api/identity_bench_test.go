package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/identitygraph"
)

// graphBenchEvents is the size of the demo store the graph is read from;
// graphBenchHuge the events of a shared device added to it, more than a
// graph reads (identitygraph.EventsMax).
const (
	graphBenchEvents = 200_000
	graphBenchHuge   = 30_000
)

// BenchmarkEntityGraph reads the identity graph of the largest entity of
// a 200k-event demo store stitched with the demo rules, and the chain
// between its first and last identifiers, over real HTTP. One op is one
// request; the target is under 300 ms. Then the same for an entity of
// graphBenchHuge events added to the store (a shared shop tablet).
func BenchmarkEntityGraph(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			s := newServer(b, backend, api.Config{})
			ctx := context.Background()
			if _, err := bench.Load(ctx, s.store, demo.Stream(demo.Options{Seed: 1, Customers: graphBenchEvents / 10, EventsPerCustomer: 10}, graphBenchEvents)); err != nil {
				b.Fatal(err)
			}
			doc, _ := json.Marshal(map[string]any{"stitching": bench.DemoStitchConfig})
			if r := s.do(b, "PUT", "/v1/config", map[string]string{"Content-Type": "application/json"}, doc); r.status != 200 {
				b.Fatalf("apply: %d %s", r.status, r.body)
			}
			if r := s.do(b, "POST", "/v1/stitching/run", nil, nil); r.status != 200 {
				b.Fatalf("stitch: %d %s", r.status, r.body)
			}
			st, err := s.store.Stats(ctx)
			if err != nil || st.LargestEntity == nil {
				b.Fatalf("stats: %v %+v", err, st)
			}
			id := st.LargestEntity.ID
			r := s.do(b, "GET", "/v1/entities/"+id+"/graph", nil, nil)
			g := decode[identitygraph.Graph](b, r)
			if r.status != 200 || len(g.Identifiers) < 2 {
				b.Fatalf("graph: %d %.300s", r.status, r.body)
			}
			b.Logf("largest entity %s: %d events, %d identifiers, %d links, %d refused, truncated %v",
				id, g.EventsCount, len(g.Identifiers), len(g.Links), len(g.Refused), g.Truncated)
			benchGraph(b, s, id, g)
			huge := addSharedDevice(b, s)
			b.Run("huge", func(b *testing.B) {
				r := s.do(b, "GET", "/v1/entities/"+huge+"/graph", nil, nil)
				g := decode[identitygraph.Graph](b, r)
				b.Logf("huge entity %s: %d events, %d read, %d identifiers, %d links, %d refused, truncated %v",
					huge, g.EventsCount, g.EventsRead, len(g.Identifiers), len(g.Links), len(g.Refused), g.Truncated)
				benchGraph(b, s, huge, g)
			})
		})
	}
}

// benchGraph times the graph of an entity and the chain between its first
// and last identifiers.
func benchGraph(b *testing.B, s *testServer, id string, g identitygraph.Graph) {
	b.Run("graph", func(b *testing.B) {
		for b.Loop() {
			if r := s.do(b, "GET", "/v1/entities/"+id+"/graph", nil, nil); r.status != 200 {
				b.Fatalf("graph: %d %s", r.status, r.body)
			}
		}
	})
	first, last := g.Identifiers[0].Key, g.Identifiers[len(g.Identifiers)-1].Key
	q := url.Values{"from": {first.String()}, "to": {last.String()}}.Encode()
	b.Run("chain", func(b *testing.B) {
		for b.Loop() {
			r := s.do(b, "GET", "/v1/entities/"+id+"/graph?"+q, nil, nil)
			if p := decode[identitygraph.Path](b, r); r.status != 200 || len(p.Steps) < 3 {
				b.Fatalf("chain: %d %s", r.status, r.body)
			}
		}
	})
}

// addSharedDevice ingests graphBenchHuge page views of a shop tablet's
// login, under 50 anonymous ids, stitches them and returns their entity.
func addSharedDevice(b *testing.B, s *testServer) string {
	b.Helper()
	var lines []string
	for i := range graphBenchHuge {
		lines = append(lines, fmt.Sprintf(`{"id":"tablet-%d","source_id":"site","type":"page","version":"1","event_time":%d,"payload":{"anonymousId":"tablet-%d","userId":"shop-tablet"}}`,
			i, 1767323045000+i, i%50))
		if len(lines) == 5000 || i == graphBenchHuge-1 {
			if r := s.do(b, "POST", "/v1/events", nil, []byte(strings.Join(lines, "\n"))); decode[ingestResult](b, r).Accepted != len(lines) {
				b.Fatalf("ingest: %.300s", r.body)
			}
			lines = lines[:0]
		}
	}
	if r := s.do(b, "POST", "/v1/stitching/run", nil, nil); r.status != 200 {
		b.Fatalf("stitch: %d %s", r.status, r.body)
	}
	r := s.do(b, "GET", "/v1/entities?identifier=user_id:shop-tablet", nil, nil)
	return decode[entity](b, r).ID
}
