package stitch

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// existingEntity is an entity already in the store that the batch touches.
type existingEntity struct {
	id         string
	createdSeq int64
	firstAt    int64   // its first event's event_time, in microseconds
	nameSeq    int64   // the seq of the event that names it, 0 if unknown (index.go)
	counts     []int32 // identifier values per category
	// staleCounts: its identifier_counts is not the text countsJSON
	// writes of counts (another config's categories, another format), so
	// a pass that touches it writes it again.
	staleCounts bool
	labeled     bool  // its component was cut: it is re-clustered with it
	slot        int32 // in the engine's index, -1 without it
}

// before reports whether a survives a merge with b: the entity whose
// first event is the smaller by (event_time, entity id).
func (a *existingEntity) before(b *existingEntity) bool {
	if a.firstAt != b.firstAt {
		return a.firstAt < b.firstAt
	}
	return a.id < b.id
}

// plan is what a pass writes.
type plan struct {
	existing    []existingEntity // the existing entities the batch touches
	eventEntity []string         // per batch event; "" for those of the region
	// eventRef is the entity of each batch event not in the region, as
	// plan.existing[ref] or plan.newEntities[-ref-1] (a rebuild's bulk
	// state keeps it, bulk.go).
	eventRef    []int32
	newEntities []newEntity
	merges      []merge
	touched     []touchedEntity // existing entities that got events, identifiers or merges
	identifiers []newIdentifier
	// region holds the components re-clustered from their events.
	region *regionPlan
	// links are the identifiers each of the batch's events links
	// through; refused, the links refused as ambiguous (ambiguous.go).
	links   func(ev int) []int32
	refused []link
}

type newEntity struct {
	id         string
	createdSeq int64
	firstAt    int64
	nameSeq    int64   // the seq of the event that names it
	counts     []int32 // identifier values per category
}

type touchedEntity struct {
	ix         int32 // in plan.existing
	id         string
	createdSeq int64
	newSeq     int64   // its created_seq after the pass
	counts     []int32 // the merged component's; nil for a loser
	mergedInto string  // the survivor, for a loser
	survivor   int32   // for a loser: plan.existing[survivor], or plan.newEntities[-survivor-1]
}

type merge struct {
	survivor, loser string
	loserSeq        int64 // the loser's created_seq
	seq             int64
	key             identKey
}

type newIdentifier struct {
	key      identKey
	hash     int64 // key_hash
	entity   string
	ref      int32 // the entity: plan.existing[ref], or plan.newEntities[-ref-1]
	firstSeq int64
}

// resolve links the batch's events into entities. Components whose union
// breaks no guard rail and meets no constraint or cut entity are joined
// here, in one go; the others are re-clustered from their events
// (recluster).
func (e *Engine) resolve(ctx context.Context, b *batch) (*plan, error) {
	// Number the nodes: events, then identifiers, then existing entities.
	nEv, nKeys := len(b.seqs), len(b.keys)
	owner, entities, err := e.lookup(ctx, b)
	if err != nil {
		return nil, err
	}
	links, ambiguous := batchLinks(b, b.amb)
	base := nEv + nKeys
	uf := newUnionFind(base+len(entities), len(e.cats))
	for i := range entities {
		copy(uf.counts[(base+i)*uf.cats:], entities[i].counts)
	}
	for k, o := range owner {
		n := int32(nEv + k)
		if o >= 0 {
			// Counted in the entity's counts already.
			uf.union(n, uf.find(int32(base)+o))
		} else {
			uf.counts[int(n)*uf.cats+b.keys[k].cat] = 1
		}
	}
	for ev := range nEv {
		for _, k := range links(ev) {
			uf.union(uf.find(int32(ev)), uf.find(int32(nEv)+k))
		}
	}
	slow := e.slowRoots(b, uf, owner, entities)
	p := &plan{existing: entities, links: links}
	for _, l := range ambiguous {
		// Those of the region are refused by its clustering.
		if !slow[uf.find(l.ev)] {
			p.refused = append(p.refused, l)
			k := b.keys[l.key]
			b.audit1(auditKey{k.cat, k.value, reasonAmbiguous}, b.seqs[l.ev])
		}
	}
	if e.deferCut {
		// A rebuild joins them whole for now and re-clusters them all at
		// its end (Rebuild).
		e.join(b, uf, owner, nil, p)
		for root := range slow {
			if ev := firstEvent(uf, root, nEv); ev >= 0 {
				e.deferred = append(e.deferred, p.eventEntity[ev])
			}
		}
		return p, nil
	}
	e.join(b, uf, owner, slow, p)
	if len(slow) > 0 {
		var evs []int32
		for ev := range nEv {
			if slow[uf.find(int32(ev))] {
				evs = append(evs, int32(ev))
			}
		}
		var ents []int32
		for i := range entities {
			if slow[uf.find(int32(base+i))] {
				ents = append(ents, int32(i))
			}
		}
		if p.region, err = e.recluster(ctx, b, evs, entities, ents, ""); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// firstEvent is the first event of root's set: a union keeps the smaller
// node as root, and events are numbered first, so it is root itself when
// the set holds events (-1 if it holds none).
func firstEvent(uf *unionFind, root int32, nEv int) int {
	if int(root) < nEv {
		return int(root)
	}
	return -1
}

// slowRoots are the components that are re-clustered from their events:
// joined whole they would break a guard rail, or they hold a cut entity,
// an identifier of a split or an event of a manual merge.
func (e *Engine) slowRoots(b *batch, uf *unionFind, owner []int32, entities []existingEntity) map[int32]bool {
	nEv, base := len(b.seqs), int32(len(b.seqs)+len(b.keys))
	slow := map[int32]bool{}
	for n := range uf.parent {
		if uf.parent[n] == int32(n) && uf.over(int32(n), e.limit) {
			slow[int32(n)] = true
		}
	}
	for i := range entities {
		if entities[i].labeled {
			slow[uf.find(base+int32(i))] = true
		}
	}
	for k, key := range b.keys {
		if e.cons.constrained(key) {
			slow[uf.find(int32(nEv+k))] = true
		}
	}
	if len(e.cons.anchors) > 0 {
		for ev := range b.seqs {
			if e.cons.anchors[string(b.idBytes[b.idStart[ev]:b.idEnd[ev]])] {
				slow[uf.find(int32(ev))] = true
			}
		}
	}
	return slow
}

// join writes into p the components that are joined whole: each is one
// entity, named by its first event by (event_time, entity id). An existing
// entity whose first event is the component's keeps its id and the others
// merge into it; when the first event is new, they all merge into a new
// entity named by it.
func (e *Engine) join(b *batch, uf *unionFind, owner []int32, slow map[int32]bool, p *plan) {
	nEv, nKeys := len(b.seqs), len(b.keys)
	base := int32(nEv + nKeys)
	entities := p.existing
	// Per root: the existing entity that would survive, the first new
	// event, and the smallest seq (the created_seq of a new entity).
	nodes := len(uf.parent)
	best, firstNew, ref := make([]int32, nodes), make([]int32, nodes), make([]int32, nodes)
	minSeq := make([]int64, nodes)
	for i := range nodes {
		best[i], firstNew[i], minSeq[i] = -1, -1, math.MaxInt64
	}
	for i := range entities {
		root := uf.find(base + int32(i))
		if slow[root] {
			continue
		}
		if w := best[root]; w < 0 || entities[i].before(&entities[w]) {
			best[root] = int32(i)
		}
		minSeq[root] = min(minSeq[root], entities[i].createdSeq)
	}
	var roots []int32 // with events, in the order of their first event
	for ev := range nEv {
		root := uf.find(int32(ev))
		if slow[root] {
			continue
		}
		switch f := firstNew[root]; {
		case f < 0:
			roots = append(roots, root)
			firstNew[root] = int32(ev)
		case b.eventBefore(ev, int(f)):
			firstNew[root] = int32(ev)
		}
		minSeq[root] = min(minSeq[root], b.seqs[ev])
	}
	// Per root: the entity's reference (plan.existing[ref] or
	// plan.newEntities[-ref-1]).
	for _, root := range roots {
		f, w := firstNew[root], best[root]
		if w >= 0 && !b.newBefore(int(f), &entities[w]) {
			ref[root] = w
			continue
		}
		// A new entity: every existing one of the component merges into it.
		ref[root] = int32(-len(p.newEntities) - 1)
		p.newEntities = append(p.newEntities, newEntity{id: entityID(b.id(int(f))), createdSeq: minSeq[root], firstAt: b.ats[f], nameSeq: b.seqs[f],
			counts: slices.Clone(uf.rootCounts(root))})
	}
	idOf := func(r int32) string {
		if r >= 0 {
			return entities[r].id
		}
		return p.newEntities[-r-1].id
	}
	p.eventEntity = make([]string, nEv)
	p.eventRef = make([]int32, nEv)
	for ev := range nEv {
		if root := uf.find(int32(ev)); !slow[root] {
			p.eventEntity[ev], p.eventRef[ev] = idOf(ref[root]), ref[root]
		}
	}
	// The losers, each with the first event and identifier that joined it.
	lostAt := map[int32]merge{}
	for ev := range nEv {
		for _, k := range p.links(ev) {
			o := owner[k]
			if o < 0 || slow[uf.find(int32(ev))] {
				continue
			}
			if _, ok := lostAt[o]; !ok && ref[uf.find(int32(ev))] != o {
				lostAt[o] = merge{loser: entities[o].id, loserSeq: entities[o].createdSeq, seq: b.seqs[ev], key: b.keys[k]}
			}
		}
	}
	for i := range entities {
		root := uf.find(base + int32(i))
		if slow[root] || firstEvent(uf, root, nEv) < 0 {
			// Re-clustered, or untouched: it holds an identifier only
			// ambiguous links of the batch carry.
			continue
		}
		r := ref[root]
		t := touchedEntity{ix: int32(i), id: entities[i].id, createdSeq: entities[i].createdSeq, newSeq: entities[i].createdSeq, survivor: -1}
		if r == int32(i) {
			// A survivor younger by seq than a loser takes its created_seq:
			// the smallest seq of the entity's events.
			t.counts, t.newSeq = slices.Clone(uf.rootCounts(root)), minSeq[root]
		} else {
			m := lostAt[int32(i)]
			m.survivor = idOf(r)
			p.merges = append(p.merges, m)
			t.mergedInto, t.survivor = m.survivor, r
		}
		p.touched = append(p.touched, t)
	}
	firstSeq := make([]int64, nKeys)
	for ev := nEv - 1; ev >= 0; ev-- {
		for _, k := range p.links(ev) {
			firstSeq[k] = b.seqs[ev]
		}
	}
	for k, o := range owner {
		root := uf.find(int32(nEv + k))
		if o >= 0 || slow[root] || firstEvent(uf, root, nEv) < 0 {
			// Held already, re-clustered, or linked to nothing (every
			// link refused as ambiguous).
			continue
		}
		r := ref[root]
		p.identifiers = append(p.identifiers, newIdentifier{key: b.keys[k], hash: e.keyHash(b.keys[k]), firstSeq: firstSeq[k], entity: idOf(r), ref: r})
	}
}

// eventBefore orders two of the batch's events by (event_time, entity id).
func (b *batch) eventBefore(i, j int) bool {
	if b.ats[i] != b.ats[j] {
		return b.ats[i] < b.ats[j]
	}
	return entityID(b.id(i)) < entityID(b.id(j))
}

// newBefore reports whether the batch's event i comes before the first
// event of entity x.
func (b *batch) newBefore(i int, x *existingEntity) bool {
	if b.ats[i] != x.firstAt {
		return b.ats[i] < x.firstAt
	}
	return entityID(b.id(i)) < x.id
}

// lookup finds which of the batch's identifiers are in the identifier
// index: owner[k] is the entity (in entities, with its identifier counts)
// that holds b.keys[k], or -1.
func (e *Engine) lookup(ctx context.Context, b *batch) (owner []int32, entities []existingEntity, err error) {
	owner = make([]int32, len(b.keys))
	for i := range owner {
		owner[i] = -1
	}
	if len(b.keys) == 0 {
		return owner, nil, nil
	}
	if e.idx != nil {
		return owner, e.lookupIndex(b, owner), nil
	}
	// Narrow by key_hash (one integer column), then compare the values.
	var hashes plainList
	for _, k := range b.keys {
		hashes.addInt(e.keyHash(k))
	}
	held := map[int32]string{} // key -> entity id
	index := map[string]int32{}
	var list plainList
	// An identifier none of whose links was accepted is in no entity:
	// the entities whose events carry it are found by their refused links.
	for _, table := range []string{"identifiers", "stitch_refused"} {
		if err := e.holders(ctx, table, hashes.String(), b, held, index, &list); err != nil {
			return nil, nil, err
		}
	}
	if len(held) == 0 {
		return owner, nil, nil
	}
	rows, err := e.db.QueryContext(ctx, `SELECT id, created_seq, identifier_counts, `+firstAtSQL+`, component IS NOT NULL
		FROM entities WHERE id IN (SELECT `+plainListSQL("$1", "TEXT")+`)`, list.String())
	if err != nil {
		return nil, nil, fmt.Errorf("read entities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		x := existingEntity{counts: make([]int32, len(e.cats)), slot: -1}
		var counts string
		if err := rows.Scan(&x.id, &x.createdSeq, &counts, &x.firstAt, &x.labeled); err != nil {
			return nil, nil, err
		}
		if x.staleCounts, err = e.parseCounts(counts, x.counts); err != nil {
			return nil, nil, fmt.Errorf("entity %s: identifier_counts: %w", x.id, err)
		}
		index[x.id] = int32(len(entities))
		entities = append(entities, x)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read entities: %w", err)
	}
	for k, ent := range held {
		if owner[k] = index[ent]; owner[k] < 0 {
			return nil, nil, fmt.Errorf("look up identifiers: entity %s is missing", ent)
		}
	}
	return owner, entities, nil
}

// firstAtSQL is an entity's first_event_us (0 if unknown).
const firstAtSQL = "coalesce(first_event_us, 0)"

// holders reads the entities that hold (or, in stitch_refused, carry) the
// batch's identifiers narrowed by key hashes into held (key -> entity; a
// key held already keeps its entity), listing each entity once. An
// identifier refused as ambiguous is marked in b, not held by its carriers.
func (e *Engine) holders(ctx context.Context, table, hashes string, b *batch, held map[int32]string, index map[string]int32, list *plainList) error {
	reason := "''"
	if table == "stitch_refused" {
		reason = "reason"
	}
	rows, err := e.db.QueryContext(ctx, `SELECT category, value, entity_id, `+reason+` FROM `+table+`
		WHERE key_hash IN (SELECT `+plainListSQL("$1", "BIGINT")+`)`, hashes)
	if err != nil {
		return fmt.Errorf("look up identifiers in %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var cat, val, ent, why string
		if err := rows.Scan(&cat, &val, &ent, &why); err != nil {
			return err
		}
		c, ok := e.catIx[cat]
		if !ok {
			continue
		}
		k, ok := b.keyIx[identKey{c, val}]
		if !ok {
			continue // another identifier with the same hash
		}
		if why == reasonAmbiguous {
			b.markAmbiguous(k)
			continue
		}
		if _, ok := held[k]; ok {
			continue
		}
		held[k] = ent
		if _, ok := index[ent]; !ok {
			index[ent] = -1
			list.add(ent)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("look up identifiers in %s: %w", table, err)
	}
	return nil
}

// countsJSON is the identifier_counts of an entity: a JSON object of the
// number of identifier values per category, zeros left out.
func (e *Engine) countsJSON(counts []int32) string {
	b := []byte{'{'}
	for c, n := range counts {
		if n == 0 {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, e.cats[c])
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return string(append(b, '}'))
}

// parseCounts reads identifier_counts into counts; categories the config
// does not have are left out, and stale says there were some: the text is
// then not what countsJSON writes of counts (the engine writes every
// identifier_counts, the migration that added the column '{}'), and a
// write of the entity must write it again.
func (e *Engine) parseCounts(s string, counts []int32) (stale bool, err error) {
	var m map[string]int32
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return false, err
	}
	for cat, n := range m {
		if c, ok := e.catIx[cat]; ok {
			counts[c] = n
		} else {
			stale = true
		}
	}
	return stale, nil
}
