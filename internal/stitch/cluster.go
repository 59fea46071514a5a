package stitch

import (
	"cmp"
	"slices"
	"strings"
)

// A region is a set of whole components of the link graph (every event
// that shares an identifier with one of its events is in it), clustered
// from its events alone: the partition of a region is a function of its
// events, the config and the constraints, never of the order they came in.
type region struct {
	events []regionEvent
	keys   []identKey
	// merges are manual links between two events, decided first and not
	// held to the guard rails.
	merges [][2]int32
	// sides[k] lists the split constraints key k is on a side of.
	sides map[int32][]splitSide
	// nSplits is how many split constraints the sides name.
	nSplits int
	// amb marks the ambiguous identifiers (ambiguous.go); newAmb lists
	// those the region made ambiguous, all of whose carriers it holds.
	amb    []bool
	newAmb []int32
}

type regionEvent struct {
	seq int64
	at  int64 // event_time in microseconds
	// id is the event's id and eid its MD5, the id of the entity it
	// names: "" until known. An old event gets them only when something
	// needs them (regionIDs): ties of event_time, the naming of the
	// clusters, manual merges.
	id, eid string
	keys    []int32
}

// splitSide puts a key on one side of a split constraint: the keys of
// side 0 never join those of side 1.
type splitSide struct {
	split int
	side  int
}

// clustering is what cluster decided.
type clustering struct {
	cluster  []int32 // per event: its cluster
	clusters []clusterOf
	keyOwner []int32 // per key: the cluster it was linked to, -1 if every link was refused
	keySeq   []int64 // per key: the smallest seq of the events linked through it
	refused  []refusal
}

type clusterOf struct {
	first     int32   // the event that names it: the smallest (event_time, entity id)
	minSeq    int64   // its smallest seq: the entity's created_seq
	counts    []int32 // identifier values per category
	component int32   // the cluster of the component's first event: equal for the clusters of one component
	cut       bool    // its component was cut (a refusal, a constraint)
}

type refusal struct {
	ev, key int32
	reason  string
}

// eventBefore orders events by (event_time, entity id): the first event of
// a cluster names it.
func eventBefore(a, b *regionEvent) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.eid < b.eid
}

// cluster partitions the region. Each component of the link graph whose
// union breaks no guard rail and meets no constraint is one cluster; the
// others are decided link by link in a fixed order (manual merges first,
// then those of identifiers a split moves, then by the priority of the
// identifier's category, the category, the value and the event's
// (event_time, entity id)), each link refused when
// it would break a max_per_entity guard rail or a split constraint.
func (e *Engine) cluster(r *region) *clustering {
	ambiguous := e.disambiguate(r)
	nEv, nKeys := len(r.events), len(r.keys)
	// The components, every link taken.
	whole := newUnionFind(nEv+nKeys, len(e.cats))
	for k, key := range r.keys {
		whole.counts[(nEv+k)*whole.cats+key.cat] = 1
	}
	for ev := range r.events {
		for _, k := range r.events[ev].keys {
			whole.union(whole.find(int32(ev)), whole.find(int32(nEv)+k))
		}
	}
	for _, m := range r.merges {
		whole.union(whole.find(m[0]), whole.find(m[1]))
	}
	cut := make([]bool, nEv+nKeys) // per root of whole: decided link by link
	for n := range cut {
		if root := whole.find(int32(n)); root == int32(n) {
			cut[n] = whole.over(root, e.limit)
		}
	}
	for k := range r.sides {
		cut[whole.find(int32(nEv)+k)] = true
	}
	for _, m := range r.merges {
		cut[whole.find(m[0])] = true
	}

	// The cut components, link by link.
	parts := newUnionFind(nEv+nKeys, len(e.cats))
	for k, key := range r.keys {
		parts.counts[(nEv+k)*parts.cats+key.cat] = 1
	}
	sides := newSideSets(r, nEv)
	guard := e.newGuardSets(r, cut, whole)
	res := &clustering{}
	for _, m := range r.merges {
		a, b := parts.find(m[0]), parts.find(m[1])
		root := parts.union(a, b)
		sides.union(root, a, b)
		guard.union(root, a, b)
	}
	var links []link
	for ev := range r.events {
		if !cut[whole.find(int32(ev))] {
			continue
		}
		for _, k := range r.events[ev].keys {
			links = append(links, link{int32(ev), k})
		}
	}
	slices.SortFunc(links, func(x, y link) int { return e.linkOrder(r, x, y) })
	for _, l := range links {
		a, b := parts.find(l.ev), parts.find(int32(nEv)+l.key)
		if a == b {
			continue
		}
		reason := ""
		switch {
		case guard.exceeds(a, b):
			reason = "max_per_entity"
		case sides.conflict(a, b):
			reason = "manual_split"
		}
		if reason != "" {
			res.refused = append(res.refused, refusal{l.ev, l.key, reason})
			continue
		}
		root := parts.union(a, b)
		sides.union(root, a, b)
		guard.union(root, a, b)
	}
	// The whole components join in one go.
	for ev := range r.events {
		if cut[whole.find(int32(ev))] {
			continue
		}
		for _, k := range r.events[ev].keys {
			parts.union(parts.find(int32(ev)), parts.find(int32(nEv)+k))
		}
	}
	e.name(r, whole, parts, cut, res)
	res.refused = append(res.refused, ambiguous...)
	return res
}

type link struct{ ev, key int32 }

// moved reports whether key k is on the moved side (0) of a split.
func (r *region) moved(k int32) bool {
	for _, sd := range r.sides[k] {
		if sd.side == 0 {
			return true
		}
	}
	return false
}

func (e *Engine) linkOrder(r *region, x, y link) int {
	// The links of a split's moved identifiers come first: an event that
	// carries one goes with them.
	if mx, my := r.moved(x.key), r.moved(y.key); mx != my {
		if mx {
			return -1
		}
		return 1
	}
	kx, ky := r.keys[x.key], r.keys[y.key]
	if c := cmp.Compare(e.prio[kx.cat], e.prio[ky.cat]); c != 0 {
		return c
	}
	if kx.cat != ky.cat {
		return e.linkCompare(kx, ky)
	}
	if c := strings.Compare(kx.value, ky.value); c != 0 {
		return c
	}
	ex, ey := &r.events[x.ev], &r.events[y.ev]
	switch {
	case eventBefore(ex, ey):
		return -1
	case eventBefore(ey, ex):
		return 1
	}
	return 0
}

// name numbers the clusters of parts, finds the event that names each,
// and the owner of each key.
func (e *Engine) name(r *region, whole, parts *unionFind, cut []bool, res *clustering) {
	nEv := len(r.events)
	num := map[int32]int32{} // root of parts -> cluster
	res.cluster = make([]int32, nEv)
	for ev := range r.events {
		root := parts.find(int32(ev))
		c, ok := num[root]
		if !ok {
			c = int32(len(res.clusters))
			num[root] = c
			res.clusters = append(res.clusters, clusterOf{first: int32(ev), minSeq: r.events[ev].seq,
				counts: slices.Clone(parts.rootCounts(root)), cut: cut[whole.find(int32(ev))]})
		}
		res.cluster[ev] = c
		cl := &res.clusters[c]
		if eventBefore(&r.events[ev], &r.events[cl.first]) {
			cl.first = int32(ev)
		}
		cl.minSeq = min(cl.minSeq, r.events[ev].seq)
	}
	// A component is known by its first event's cluster.
	compFirst := map[int32]int32{} // root of whole -> event
	for ev := range r.events {
		root := whole.find(int32(ev))
		f, ok := compFirst[root]
		if !ok || eventBefore(&r.events[ev], &r.events[f]) {
			compFirst[root] = int32(ev)
		}
	}
	for c := range res.clusters {
		cl := &res.clusters[c]
		cl.component = res.cluster[compFirst[whole.find(cl.first)]]
	}
	res.keyOwner = make([]int32, len(r.keys))
	res.keySeq = make([]int64, len(r.keys))
	for k := range r.keys {
		res.keyOwner[k] = -1
		if root := parts.find(int32(nEv + k)); int(root) < nEv {
			// Event nodes come first and a union keeps the smaller node
			// as root: a root below nEv is a set with events.
			res.keyOwner[k] = num[root]
		}
	}
	for ev := range r.events {
		for _, k := range r.events[ev].keys {
			if res.keyOwner[k] == res.cluster[ev] && (res.keySeq[k] == 0 || r.events[ev].seq < res.keySeq[k]) {
				res.keySeq[k] = r.events[ev].seq
			}
		}
	}
}

// sideSets tracks, per set of a union-find, the sides of split
// constraints its keys are on.
type sideSets struct {
	bits  map[int32][]uint64 // root -> 2 bits per split: side 0, side 1
	words int
}

func newSideSets(r *region, nEv int) *sideSets {
	s := &sideSets{bits: map[int32][]uint64{}, words: (2*r.nSplits + 63) / 64}
	for k, sides := range r.sides {
		b := make([]uint64, s.words)
		for _, sd := range sides {
			bit := 2*sd.split + sd.side
			b[bit/64] |= 1 << (bit % 64)
		}
		s.bits[int32(nEv)+k] = b
	}
	return s
}

// conflict reports whether roots a and b hold opposite sides of a split.
func (s *sideSets) conflict(a, b int32) bool {
	x, y := s.bits[a], s.bits[b]
	if x == nil || y == nil {
		return false
	}
	const side0 = 0x5555555555555555
	for i := range x {
		// A side-0 bit of one facing the side-1 bit of the other.
		if x[i]&side0&(y[i]>>1) != 0 || y[i]&side0&(x[i]>>1) != 0 {
			return true
		}
	}
	return false
}

// union records that a and b were joined under root.
func (s *sideSets) union(root, a, b int32) {
	x, y := s.bits[a], s.bits[b]
	if x == nil && y == nil {
		return
	}
	out := make([]uint64, s.words)
	for i := range out {
		if x != nil {
			out[i] |= x[i]
		}
		if y != nil {
			out[i] |= y[i]
		}
	}
	delete(s.bits, a)
	delete(s.bits, b)
	s.bits[root] = out
}

// guardSets holds, per set of the link-by-link union-find, the values of
// guarded categories (those with a max_per_entity) that its events carry,
// linked or not: a link is refused when the joined set would carry more
// values of a category than allowed (and more than either side alone,
// for an event that carries more by itself). Counting what the events
// carry, not only what is linked so far, makes the guard rail see a
// conflict whatever the order the links are decided in.
type guardSets struct {
	vals    map[int32][]int32 // root -> sorted keys of guarded categories
	keys    []identKey
	limit   []int32
	scratch [][]int
}

func (e *Engine) newGuardSets(r *region, cut []bool, whole *unionFind) *guardSets {
	g := &guardSets{vals: map[int32][]int32{}, keys: r.keys, limit: e.limit}
	nEv := int32(len(r.events))
	for ev := range r.events {
		if !cut[whole.find(int32(ev))] {
			continue
		}
		var v []int32
		for _, k := range r.events[ev].keys {
			if e.limit[r.keys[k].cat] > 0 {
				v = append(v, k)
			}
		}
		if len(v) > 0 {
			slices.Sort(v)
			g.vals[int32(ev)] = v
		}
	}
	for k, key := range r.keys {
		if e.limit[key.cat] > 0 {
			g.vals[nEv+int32(k)] = []int32{int32(k)}
		}
	}
	return g
}

func (g *guardSets) exceeds(a, b int32) bool {
	x, y := g.vals[a], g.vals[b]
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	n := g.count(mergeSorted(x, y), 0)
	nx, ny := g.count(x, 1), g.count(y, 2)
	for c, lim := range g.limit {
		if lim > 0 && n[c] > int(lim) && n[c] > max(nx[c], ny[c]) {
			return true
		}
	}
	return false
}

// count counts keys per category into scratch row i.
func (g *guardSets) count(keys []int32, i int) []int {
	if g.scratch == nil {
		g.scratch = make([][]int, 3)
		for j := range g.scratch {
			g.scratch[j] = make([]int, len(g.limit))
		}
	}
	n := g.scratch[i]
	clear(n)
	for _, k := range keys {
		n[g.keys[k].cat]++
	}
	return n
}

func (g *guardSets) union(root, a, b int32) {
	x, y := g.vals[a], g.vals[b]
	if len(x) == 0 && len(y) == 0 {
		return
	}
	delete(g.vals, a)
	delete(g.vals, b)
	g.vals[root] = mergeSorted(x, y)
}

// mergeSorted is the sorted union of two sorted lists.
func mergeSorted(x, y []int32) []int32 {
	out := make([]int32, 0, len(x)+len(y))
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case j == len(y) || (i < len(x) && x[i] < y[j]):
			out = append(out, x[i])
			i++
		case i == len(x) || y[j] < x[i]:
			out = append(out, y[j])
			j++
		default:
			out = append(out, x[i])
			i, j = i+1, j+1
		}
	}
	return out
}
