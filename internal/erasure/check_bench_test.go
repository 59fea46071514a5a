package erasure

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/store"
)

// BenchmarkSuppressorCheck times the ingest prefilter's Go check of demo
// events against a list of 100,000 hashes (none of them the batch's):
// the part of the ingest cost that grows with a non-empty list.
func BenchmarkSuppressorCheck(b *testing.B) {
	cfg, err := config.Parse(demo.Config)
	if err != nil {
		b.Fatal(err)
	}
	var events []store.EventInsert
	for e := range demo.Stream(demo.Options{Seed: 1, Customers: 2000, EventsPerCustomer: 10}, 20_000) {
		events = append(events, store.EventInsert{ID: e.ID, EventTypeKey: store.EventTypeKey{SourceID: e.SourceID, Type: e.Type, Version: e.Version},
			EventTime: e.EventTime, Payload: e.Payload})
	}
	rules := cfg.EffectiveStitching()
	ascii := true
	s := &Suppressor{hashes: map[[sha256.Size]byte]struct{}{}, compiled: compileRules(rules), ruleKey: fmt.Sprint(rules.Rules), asciiLower: &ascii}
	for i := range 100_000 {
		s.hashes[sha256.Sum256([]byte(fmt.Sprint("bench", i)))] = struct{}{}
	}
	s.version = 1
	b.ResetTimer()
	for range b.N {
		hits, certain, err := s.check(b.Context(), rules, "salt", 1, events)
		if err != nil || !certain || len(hits) > 0 {
			b.Fatalf("hits %v, certain %v, err %v", hits, certain, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}
