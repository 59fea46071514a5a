package identitytest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/worked"
)

// orders is how many arrival orders and batchings the property test tries.
const orders = 5

// TestAnyOrderAnyBatching is issue 18's property test: the demo population
// and the household population, each ingested in random orders, in random
// parts with a pass of a random batch size after each, give the same
// entities with the same ids, equal to a rebuild of the same store.
func TestAnyOrderAnyBatching(t *testing.T) {
	var demoEvents []demo.Event
	for e := range demo.Events(demo.Options{Customers: 150, Seed: 12}) {
		demoEvents = append(demoEvents, e)
	}
	households, _ := demo.Households(demo.HouseholdOptions{Customers: 350, Seed: 12})
	populations := []struct {
		name    string
		records []string
		cfg     stitch.Config
	}{
		{"demo", lines(demoEvents), demoConfig},
		{"households", lines(households), householdConfig},
	}
	for _, backend := range dbtest.Backends {
		for _, pop := range populations {
			t.Run(backend+"/"+pop.name, func(t *testing.T) {
				t.Parallel()
				var first map[string]string
				for k := range orders {
					got := stitchInRandomOrder(t, backend, pop.records, pop.cfg, uint64(k))
					if first == nil {
						first = got
						t.Logf("%d events, %d entities", len(pop.records), countEntities(got))
					} else if d := diff(first, got); d != "" {
						t.Errorf("order %d gave other entities than order 0: %s", k, d)
					}
				}
			})
		}
	}
}

// stitchInRandomOrder ingests the records into a new store in the order
// and parts that seed draws, with a pass of a random batch size after each
// part, checks that a rebuild gives the same partition and returns it.
func stitchInRandomOrder(t *testing.T, backend string, records []string, cfg stitch.Config, seed uint64) map[string]string {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 0x0de5))
	s := dbtest.Open(t, backend)
	eng := newEngine(t, s, cfg)
	rest := shuffled(r, records)
	var batches []int
	for len(rest) > 0 {
		n := min(len(rest), 1+r.IntN(len(records)/3+1))
		ingest(t, s, rest[:n])
		rest = rest[n:]
		size := batchSize(r, 1000)
		batches = append(batches, size)
		if _, err := eng.Run(ctx, size); err != nil {
			t.Fatal(err)
		}
	}
	got := entityOf(t, s)
	size := batchSize(r, 3000)
	if _, err := eng.Rebuild(ctx, size); err != nil {
		t.Fatal(err)
	}
	if d := diff(got, entityOf(t, s)); d != "" {
		t.Errorf("order %d (batch sizes %v): a rebuild (batch size %d) gave other entities: %s", seed, batches, size, d)
	}
	return got
}

// TestWorkedExampleAnyOrder: the worked example of the seed
// (specs/meiro_cps.md section 11) gives its documented entities X = e1..e7,
// Y = e8, Z = e9 whatever order its events arrive in and however they are
// batched, each named after its first event: the MD5 of e1, e8, e9.
func TestWorkedExampleAnyOrder(t *testing.T) {
	cfg := stitching([]byte(worked.Config))
	want := map[string]string{}
	for i := 1; i <= 9; i++ {
		first := "e1"
		if i > 7 {
			first = fmt.Sprint("e", i)
		}
		want[fmt.Sprint("e", i)] = md5Hex(first)
	}
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			for k := range orders {
				got := stitchInRandomOrder(t, backend, worked.Events, cfg, uint64(100+k))
				if d := diff(want, got); d != "" {
					t.Errorf("order %d: %s", k, d)
				}
			}
		})
	}
}

// batchSize draws a batch size between 50 and 50+n: a pass costs tens
// of milliseconds, so a test of passes of a few events would be slow.
func batchSize(r *rand.Rand, n int) int { return 50 + r.IntN(n) }
