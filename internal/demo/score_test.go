package demo_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/demo"
)

// TestPairScoresHandMade scores hand-made partitions of six events of
// three customers: a, b, c are customer 1's, d, e customer 2's, f customer 3's.
func TestPairScoresHandMade(t *testing.T) {
	truth := map[string]int{"a": 1, "b": 1, "c": 1, "d": 2, "e": 2, "f": 3}
	for _, tc := range []struct {
		name              string
		partition         string // entities separated by spaces, events by nothing
		precision, recall float64
	}{
		// 4 actual pairs: ab ac bc de.
		{"perfect", "abc de f", 1, 1},
		{"all singletons", "a b c d e f", 1, 0},              // no pair predicted
		{"all together", "abcdef", 4.0 / 15, 1},              // 15 pairs, 4 right
		{"a household merged", "abcde f", 4.0 / 10, 1},       // 10 pairs, 4 right
		{"one customer split", "ab c de f", 1, 2.0 / 4},      // ab de right; ac bc lost
		{"split and merged", "ab cd ef", 1.0 / 3, 1.0 / 4},   // ab right of ab cd ef
		{"unstitched events are alone", "abc d", 1, 3.0 / 4}, // e, f missing
		{"events outside the truth are ignored", "abcx de fy", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entityOf := map[string]string{}
			for i, ent := range strings.Fields(tc.partition) {
				for _, id := range ent {
					entityOf[string(id)] = fmt.Sprint("E", i)
				}
			}
			p, r := demo.PairScores(entityOf, truth)
			if math.Abs(p-tc.precision) > 1e-12 || math.Abs(r-tc.recall) > 1e-12 {
				t.Errorf("precision %v recall %v, want %v %v", p, r, tc.precision, tc.recall)
			}
		})
	}
}

// TestPairScoresAgainstAllPairs compares the contingency counts with a
// count over every pair of events, on random partitions.
func TestPairScoresAgainstAllPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		n := 1 + r.IntN(300)
		truth, entityOf := map[string]int{}, map[string]string{}
		var ids []string
		for i := range n {
			id := fmt.Sprint("ev", i)
			ids = append(ids, id)
			truth[id] = r.IntN(1 + n/5)
			entityOf[id] = fmt.Sprint("ent", r.IntN(1+n/(1+round%7)))
		}
		var predicted, actual, both float64
		for i := range ids {
			for j := i + 1; j < len(ids); j++ {
				same := entityOf[ids[i]] == entityOf[ids[j]]
				mine := truth[ids[i]] == truth[ids[j]]
				if same {
					predicted++
				}
				if mine {
					actual++
				}
				if same && mine {
					both++
				}
			}
		}
		wantP, wantR := 1.0, 1.0
		if predicted > 0 {
			wantP = both / predicted
		}
		if actual > 0 {
			wantR = both / actual
		}
		p, rec := demo.PairScores(entityOf, truth)
		if math.Abs(p-wantP) > 1e-12 || math.Abs(rec-wantR) > 1e-12 {
			t.Fatalf("round %d (%d events): precision %v recall %v, all pairs give %v %v", round, n, p, rec, wantP, wantR)
		}
	}
}
