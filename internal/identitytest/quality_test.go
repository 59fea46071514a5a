package identitytest

import (
	"context"
	"flag"
	"testing"

	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/store/dbtest"
)

var households = flag.Int("households", 5000, "customers of TestHouseholdQuality's population")

// Issue 18's targets for the household population.
const (
	precisionTarget = 0.99
	recallTarget    = 0.98
)

// TestHouseholdQuality stitches the household population as a live feed
// brings it (in its shuffled arrival order, four parts with a pass after
// each) with the priorities of demo.HouseholdConfig, and scores the
// partition against the truth.
func TestHouseholdQuality(t *testing.T) {
	events, truth := demo.Households(demo.HouseholdOptions{Customers: *households, Seed: 18})
	records := lines(events)
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := dbtest.Open(t, backend)
			ctx := context.Background()
			eng := newEngine(t, s, householdConfig)
			if err := eng.ValidateSQL(ctx); err != nil {
				t.Fatal(err)
			}
			quarter := (len(records) + 3) / 4
			for lo := 0; lo < len(records); lo += quarter {
				ingest(t, s, records[lo:min(lo+quarter, len(records))])
				if _, err := eng.Run(ctx, 5000); err != nil {
					t.Fatal(err)
				}
			}
			got := entityOf(t, s)
			precision, recall := demo.PairScores(got, truth)
			t.Logf("%d customers, %d events, %d entities: pairwise precision %.4f recall %.4f",
				*households, len(records), countEntities(got), precision, recall)
			if precision < precisionTarget || recall < recallTarget {
				t.Errorf("pairwise precision %.4f recall %.4f, want at least %v and %v", precision, recall, precisionTarget, recallTarget)
			}
		})
	}
}

func countEntities(entityOf map[string]string) int {
	seen := map[string]bool{}
	for _, ent := range entityOf {
		seen[ent] = true
	}
	return len(seen)
}
