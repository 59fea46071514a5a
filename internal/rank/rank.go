package rank

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/types/known/structpb"
)

// Rank scores the insertions of a request for its user and returns them
// best first; equal scores keep the request's order. It reads only the
// state of the last refresh: it never waits on the database, and the same
// request on the same state gives the same answer.
func (r *Ranker) Rank(req *delivery.Request, ins []*delivery.Insertion) []Scored {
	s := r.snap.Load()
	uc := s.useCases.of(req.GetUseCase())
	var user *profile
	if !req.GetDisablePersonalization() && (len(uc.rules) > 0 || len(uc.filters) > 0) {
		user = s.users.find(req.GetUserInfo())
	}
	out := make([]Scored, len(ins))
	var ruleScores []RuleScore // one allocation for every insertion's rules
	if user != nil {
		ruleScores = make([]RuleScore, len(ins)*len(uc.rules))
	}
	lo, hi := scoreRange(ins)
	for i, in := range ins {
		p := Parts{
			Retrieval:  uc.retrieval * retrievalPrior(in, i, lo, hi),
			Engagement: uc.engagement * uc.engagementOf(s.eng.content[in.GetContentId()]),
		}
		if user != nil {
			n := len(uc.rules)
			p.Rules = ruleScores[i*n : (i+1)*n : (i+1)*n]
			p.Personalization = uc.personalization * uc.personalize(in, user, p.Rules)
		}
		out[i] = Scored{Index: i, Score: p.Retrieval + p.Engagement + p.Personalization, Parts: p,
			Filtered: uc.filtered(in, user)}
	}
	sortScored(out)
	return out
}

// sortKey is what Scored sorts by, without pointers: sorting these and
// then moving each Scored once is several times cheaper than sorting the
// Scored themselves (64 bytes each, with write barriers on every swap).
type sortKey struct {
	score float64
	index int
}

var sortKeys = sync.Pool{New: func() any { return new([]sortKey) }}

// sortScored sorts best first, equal scores by index: a total order, so
// the result is the same whatever the sort algorithm does.
func sortScored(out []Scored) {
	kp := sortKeys.Get().(*[]sortKey)
	keys := (*kp)[:0]
	for i := range out {
		keys = append(keys, sortKey{out[i].Score, i})
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.index, b.index)
	})
	// Permute in place along the cycles of the permutation: out[q] takes
	// the element at keys[q].index; a placed position is marked -1.
	for p := range keys {
		if keys[p].index < 0 || keys[p].index == p {
			continue
		}
		held, q := out[p], p
		for {
			src := keys[q].index
			keys[q].index = -1
			if src == p {
				out[q] = held
				break
			}
			out[q] = out[src]
			q = src
		}
	}
	*kp = keys
	sortKeys.Put(kp)
}

// scoreRange is the range of the request's finite retrieval scores
// (lo > hi when there are none).
func scoreRange(ins []*delivery.Insertion) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, in := range ins {
		if in != nil && in.RetrievalScore != nil {
			if f := float64(*in.RetrievalScore); !math.IsNaN(f) && !math.IsInf(f, 0) {
				lo, hi = min(lo, f), max(hi, f)
			}
		}
	}
	return lo, hi
}

// retrievalPrior is 0 to 1: the retrieval score scaled to the request's
// range of scores (1 when they are all equal), else the rank discounted as
// in DCG, 1/log2(rank+2), else the insertion's place discounted alike.
func retrievalPrior(in *delivery.Insertion, i int, lo, hi float64) float64 {
	if in == nil {
		return discount(uint64(i))
	}
	if in.RetrievalScore != nil {
		if f := float64(*in.RetrievalScore); f >= lo && f <= hi { // finite
			if hi == lo {
				return 1
			}
			return (f - lo) / (hi - lo)
		}
	}
	if in.RetrievalRank != nil {
		return discount(*in.RetrievalRank)
	}
	return discount(uint64(i))
}

// discounts caches 1/log2(rank+2) for the ranks most requests hold.
var discounts = func() []float64 {
	d := make([]float64, 4096)
	for i := range d {
		d[i] = 1 / math.Log2(float64(i)+2)
	}
	return d
}()

func discount(rank uint64) float64 {
	if rank < uint64(len(discounts)) {
		return discounts[rank]
	}
	return 1 / math.Log2(float64(rank)+2)
}

// engagementOf is 0 to 1, 0.5 being the global action rate: the content's
// weighted actions per impression, smoothed with prior impressions at the
// global rate, as rate/(rate+global). A new item gets 0.5 exactly, and so
// does everything while nothing has been logged.
func (uc *useCase) engagementOf(st contentStats) float64 {
	var actions float64
	for _, a := range st.actions {
		actions += uc.actionWeights[a.key] * a.n
	}
	seen := st.impressions + uc.prior
	if seen <= 0 {
		return 0.5
	}
	rate := max(actions+uc.prior*uc.globalRate, 0) / seen
	if rate+uc.globalRate <= 0 {
		return 0.5
	}
	return rate / (rate + uc.globalRate)
}

// personalize fills the rules' scores of one insertion and returns their sum.
func (uc *useCase) personalize(in *delivery.Insertion, user *profile, scores []RuleScore) float64 {
	props := in.GetProperties().GetStruct()
	var sum float64
	for j := range uc.rules {
		rl := &uc.rules[j]
		var v float64
		if rl.slot >= 0 {
			v = rl.score(lookup(props, rl.path), &user.slots[rl.slot])
		}
		scores[j] = RuleScore{Rule: rl.label, Score: v}
		sum += v
	}
	return sum
}

// filtered says whether a filter rule leaves the insertion out: one whose
// item is true (or 1) is kept for the segment's members only (keep), or
// for everyone but them (drop). Without a user (unknown, or
// personalization disabled) no one is a member.
func (uc *useCase) filtered(in *delivery.Insertion, user *profile) bool {
	if len(uc.filters) == 0 {
		return false
	}
	props := in.GetProperties().GetStruct()
	for j := range uc.filters {
		f := &uc.filters[j]
		if v := lookup(props, f.path); v == nil || !matches(v, &memberValues) {
			continue
		}
		if member := user != nil && len(user.slots[f.slot].text) > 0; member == f.drop {
			return true
		}
	}
	return false
}

// lookup follows a dotted path into an insertion's properties.
func lookup(props *structpb.Struct, path []string) *structpb.Value {
	if props == nil {
		return nil
	}
	v := props.Fields[path[0]]
	for _, name := range path[1:] {
		s := v.GetStructValue()
		if s == nil {
			return nil
		}
		v = s.Fields[name]
	}
	return v
}

// score is what the rule gives an insertion whose property is v.
func (rl *rule) score(v *structpb.Value, user *values) float64 {
	if v == nil {
		return 0
	}
	if rl.scale {
		if len(user.nums) == 0 {
			return 0
		}
		return rl.weight * user.nums[len(user.nums)-1] * number(v)
	}
	if matches(v, user) {
		return rl.weight
	}
	return 0
}

// number is a property as a number for scale rules: a number, true as 1;
// anything else 0.
func number(v *structpb.Value) float64 {
	switch k := v.GetKind().(type) {
	case *structpb.Value_NumberValue:
		return k.NumberValue
	case *structpb.Value_BoolValue:
		if k.BoolValue {
			return 1
		}
	}
	return 0
}

// matches says whether an insertion's property equals one of the user's
// values: strings and booleans as text, numbers as numbers, a list when
// any element does.
func matches(v *structpb.Value, user *values) bool {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return hasText(user.text, k.StringValue)
	case *structpb.Value_BoolValue:
		if k.BoolValue {
			return hasText(user.text, "true")
		}
		return hasText(user.text, "false")
	case *structpb.Value_NumberValue:
		i := sort.SearchFloat64s(user.nums, k.NumberValue)
		return i < len(user.nums) && user.nums[i] == k.NumberValue
	case *structpb.Value_ListValue:
		for _, e := range k.ListValue.GetValues() {
			if matches(e, user) {
				return true
			}
		}
	}
	return false
}

func hasText(sorted []string, s string) bool {
	_, ok := slices.BinarySearch(sorted, s)
	return ok
}

// Entity is the stitched entity of the request's user, when the last
// refresh loaded it (users are loaded only when a use case has rules).
// Introspection data shows it.
func (r *Ranker) Entity(req *delivery.Request) (string, bool) {
	if p := r.snap.Load().users.find(req.GetUserInfo()); p != nil {
		return p.entity, true
	}
	return "", false
}
