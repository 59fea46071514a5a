package rank

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/promotedai/schema/generated/go/proto/delivery"
)

// TestSortScored holds the in-place permutation to a plain stable sort.
func TestSortScored(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 7, 100, 1000} {
		out := make([]Scored, n)
		for i := range out {
			out[i] = Scored{Index: i, Score: float64(rng.IntN(10)), Parts: Parts{Retrieval: float64(i)}}
		}
		want := slices.Clone(out)
		slices.SortStableFunc(want, func(a, b Scored) int { return cmp.Compare(b.Score, a.Score) })
		sortScored(out)
		if !slices.EqualFunc(out, want, func(a, b Scored) bool { return a.Index == b.Index && a.Parts.Retrieval == b.Parts.Retrieval }) {
			t.Fatalf("n=%d: sorted %v, want %v", n, out, want)
		}
	}
}

func TestRetrievalPrior(t *testing.T) {
	f32 := func(f float32) *float32 { return &f }
	u64 := func(u uint64) *uint64 { return &u }
	ins := []*delivery.Insertion{
		{RetrievalScore: f32(3)},
		{RetrievalScore: f32(1), RetrievalRank: u64(0)},
		{RetrievalScore: f32(float32(math.NaN())), RetrievalRank: u64(2)},
		{RetrievalRank: u64(6)},
		{},
		nil,
	}
	lo, hi := scoreRange(ins)
	want := []float64{1, 0, 0.5, 1.0 / 3, 1 / math.Log2(6), 1 / math.Log2(7)}
	for i, in := range ins {
		if got := retrievalPrior(in, i, lo, hi); math.Abs(got-want[i]) > 1e-12 {
			t.Errorf("insertion %d: prior %v, want %v", i, got, want[i])
		}
	}
	if got := retrievalPrior(ins[0], 0, 3, 3); got != 1 {
		t.Errorf("all scores equal: prior %v, want 1", got)
	}
	if got := discount(1 << 40); got <= 0 || got >= discounts[len(discounts)-1] {
		t.Errorf("discount of a huge rank: %v", got)
	}
}

func TestEngagementOf(t *testing.T) {
	uc := &useCase{prior: 10, actionWeights: []float64{1, 0}, globalRate: 0.1}
	for _, tc := range []struct {
		name string
		st   contentStats
		want float64
	}{
		{"new item", contentStats{}, 0.5},
		{"at the global rate", contentStats{impressions: 100, actions: []actionCount{{0, 10}}}, 0.5},
		{"above", contentStats{impressions: 100, actions: []actionCount{{0, 30}}}, (31.0 / 110) / (31.0/110 + 0.1)},
		{"undoing actions weigh 0", contentStats{impressions: 100, actions: []actionCount{{1, 50}}}, (1.0 / 110) / (1.0/110 + 0.1)},
	} {
		if got := uc.engagementOf(tc.st); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	none := &useCase{prior: 0}
	if got := none.engagementOf(contentStats{}); got != 0.5 {
		t.Errorf("no prior, no impressions: %v, want 0.5", got)
	}
}

// TestRankNilInsertion: a nil insertion is ranked as an empty one.
func TestRankNilInsertion(t *testing.T) {
	r := New(Options{})
	got := r.Rank(&delivery.Request{}, []*delivery.Insertion{nil, {ContentId: "c"}})
	if len(got) != 2 || got[0].Index != 0 || got[0].Parts.Engagement != 0.5 {
		t.Fatalf("got %+v", got)
	}
}

func TestActionWeight(t *testing.T) {
	weights := map[string]float64{"PURCHASE": 5, "CUSTOM_ACTION_TYPE": 3, "wishlist": 2}
	for name, want := range map[string]float64{
		"PURCHASE": 5, "NAVIGATE": 1, "UNLIKE": 0, "REFUND_PURCHASE": 0,
		"wishlist": 2, "gift": 3, "UNKNOWN_ACTION_TYPE": 1,
	} {
		if got := actionWeight(weights, name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	if got := actionWeight(nil, "gift"); got != 1 {
		t.Errorf("custom action without weights: %v, want 1", got)
	}
}

func TestPropertyKeys(t *testing.T) {
	d := &Delivery{UseCases: map[string]UseCase{
		"FEED":    {Rules: []Rule{{Item: "category", Attribute: "fav"}, {Item: "meta.size", Attribute: "size"}}},
		"default": {Rules: []Rule{{Item: "brand", Attribute: "brand"}}},
		"SEARCH":  {},
	}}
	src, resolved, _ := referenced(d, nil)
	got := compileUseCases(d, newEngagement(), src, resolved).propertyKeys()
	if len(got) != 3 || !got["category"] || !got["meta"] || !got["brand"] {
		t.Errorf("property keys %v, want category, meta and brand", got)
	}
	if keys := compileUseCases(&Delivery{}, newEngagement(), src, resolved).propertyKeys(); len(keys) != 0 {
		t.Errorf("no rules: %v", keys)
	}
}

// TestRefreshWait: the refresh waits delivery.refresh, or ten times as
// long as the last refresh took when that is longer, so that reading
// millions of users cannot keep a core busy between requests.
func TestRefreshWait(t *testing.T) {
	for _, c := range []struct{ refresh, took, want time.Duration }{
		{30 * time.Second, 200 * time.Millisecond, 30 * time.Second},
		{2 * time.Second, 150 * time.Millisecond, 2 * time.Second},
		{2 * time.Second, 3 * time.Second, 30 * time.Second},
		{time.Second, 0, time.Second},
	} {
		if got := refreshWait(c.refresh, c.took); got != c.want {
			t.Errorf("refreshWait(%v, %v) = %v, want %v", c.refresh, c.took, got, c.want)
		}
	}
}
