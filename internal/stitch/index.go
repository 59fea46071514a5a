package stitch

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/weftdata/weft/internal/offheap"
)

// index is the engine's memory of the stitching state, so that a pass
// need not search the identifier and entity tables (DuckDB has no index on
// them, and scanning their text columns costs 0.1 s at 10M events): every
// identifier (category and value) with the entity that holds it, and every
// entity's id, created_seq, identifier counts and merge. It costs about 70
// bytes per identifier (its value included) and 60 per entity (48 and its counts): 30 bytes
// per event on the demo data, 300 MB at 10M events.
//
// Its arrays live outside the Go heap (package offheap, mem): at 10M
// events they were most of the live heap, and the collector let the heap
// grow to four times that before a collection (--gc-percent 300).
//
// It reflects the state of one pass: stitch_state's watermark and
// pass_token, a random number every pass and reset writes. Run compares
// them before its first pass and reloads the index from the tables when
// another process (or a failed commit) changed the state.
type index struct {
	watermark int64
	token     int64

	// An open-addressing table of identifiers: hashes[i] (0 is empty,
	// hash 0 is stored as 1), the key at arena[refs[i]:] (category as a
	// uvarint, the value's length as a uvarint, the value) and the entity
	// slots[i]. The hash is seeded per index (not key_hash), so that values
	// crafted to collide cannot make probing slow.
	seed   maphash.Seed
	mask   uint64 // ANDed to hashes: all ones; tests narrow it
	hashes []uint64
	refs   []uint32
	slots  []int32
	n      int
	arena  []byte

	ents   []indexEntity
	counts []int32 // counts[slot*cats+c]
	cats   int
	// byID finds an entity's slot by its id: an open-addressing table of
	// slot+1 (0 is empty) by the hash of the id; built on first use (a
	// pass that re-clusters), then kept up to date. byIDn counts its slots
	// in use.
	byID  []int32
	byIDn int
	// mem holds the arrays above and carried's.
	mem *offheap.Block
	// amb holds the ambiguous identifiers (ambiguous.go); one whose links
	// all were refused has slot -1 in the table.
	amb map[identKey]bool
	// comps numbers the cut components by their ids (entities.component)
	// and members lists the entity slots given each number, stale ones
	// included (componentMembers checks them): a re-clustering finds the
	// entities cut from the same components here rather than by two scans
	// of the entity table (60 to 120 ms at 10M events). Go maps: about
	// 20,000 components at 10M demo events.
	comps   map[string]int32
	members map[int32][]int32
	// stale holds the slots of the entities whose stored counts are
	// stale (existingEntity.staleCounts): only an index loaded from the
	// tables after a forward-only change has any.
	stale map[int32]bool
	// carried holds the identifiers of the events its passes read; nil
	// when it was loaded from tables that hold entities.
	carried *carriedKeys
}

type indexEntity struct {
	id         [16]byte // the md5 its hex id encodes
	createdSeq int64
	firstAt    int64 // its first event's event_time, in microseconds
	mergedInto int32 // -1 if live
	// component numbers its cut component (the table's component, by
	// index.comps), -1 if none: it is labeled (its component was cut)
	// when it has one. 48 bytes an entity in all.
	component int32
	// nameSeq is the seq of the event that names it (whose id's MD5 is
	// its id), 0 if unknown (an index loaded from the tables): a
	// re-clustering then needs no event ids from the log to know it
	// (regionIDs).
	nameSeq int64
}

// errIndexFull: the arena would pass 4 GiB; the engine turns the index off.
var errIndexFull = errors.New("stitching index full")

func newIndex(cats int, mask uint64) *index {
	const size = 1 << 16
	mem := offheap.NewBlock()
	x := &index{cats: cats, seed: maphash.MakeSeed(), mask: mask, amb: map[identKey]bool{}, mem: mem, comps: map[string]int32{}, members: map[int32][]int32{},
		hashes: offheap.Make[uint64](mem, size, size), refs: offheap.Make[uint32](mem, size, size), slots: offheap.Make[int32](mem, size, size)}
	offheap.FreeWith(x, mem)
	return x
}

func (x *index) hash(k identKey) uint64 {
	h := (maphash.String(x.seed, k.value) ^ uint64(k.cat)*0x9e3779b97f4a7c15) & x.mask
	if h == 0 {
		return 1
	}
	return h
}

// keyAt reports whether the key stored at ref is k.
func (x *index) keyAt(ref uint32, k identKey) bool {
	b := x.arena[ref:]
	cat, n := binary.Uvarint(b)
	if int(cat) != k.cat {
		return false
	}
	b = b[n:]
	l, n := binary.Uvarint(b)
	return int(l) == len(k.value) && string(b[n:n+int(l)]) == k.value
}

// get returns the entity slot holding k.
func (x *index) get(k identKey) (int32, bool) {
	i, ok := x.find(k)
	if !ok {
		return 0, false
	}
	return x.slots[i], true
}

// find is k's position in the table.
func (x *index) find(k identKey) (uint64, bool) {
	u := x.hash(k)
	mask := uint64(len(x.hashes) - 1)
	for i := u & mask; ; i = (i + 1) & mask {
		switch x.hashes[i] {
		case 0:
			return 0, false
		case u:
			if x.keyAt(x.refs[i], k) {
				return i, true
			}
		}
	}
}

// put records that the entity in slot holds k.
func (x *index) put(k identKey, slot int32) error {
	if 4*(x.n+1) > 3*len(x.hashes) {
		x.grow()
	}
	u := x.hash(k)
	mask := uint64(len(x.hashes) - 1)
	for i := u & mask; ; i = (i + 1) & mask {
		switch x.hashes[i] {
		case 0:
			if len(x.arena)+2*binary.MaxVarintLen64+len(k.value) > math.MaxUint32 {
				return errIndexFull
			}
			x.hashes[i], x.refs[i], x.slots[i] = u, uint32(len(x.arena)), slot
			x.arena = offheap.Grow(x.mem, x.arena, 2*binary.MaxVarintLen64+len(k.value))
			x.arena = binary.AppendUvarint(x.arena, uint64(k.cat))
			x.arena = binary.AppendUvarint(x.arena, uint64(len(k.value)))
			x.arena = append(x.arena, k.value...)
			x.n++
			return nil
		case u:
			if x.keyAt(x.refs[i], k) {
				x.slots[i] = slot
				return nil
			}
		}
	}
}

func (x *index) grow() {
	hashes, refs, slots := x.hashes, x.refs, x.slots
	n := 2 * len(hashes)
	x.hashes, x.refs, x.slots = offheap.Make[uint64](x.mem, n, n), offheap.Make[uint32](x.mem, n, n), offheap.Make[int32](x.mem, n, n)
	defer func() {
		offheap.Release(x.mem, hashes)
		offheap.Release(x.mem, refs)
		offheap.Release(x.mem, slots)
	}()
	mask := uint64(len(x.hashes) - 1)
	for j, u := range hashes {
		if u == 0 {
			continue
		}
		i := u & mask
		for x.hashes[i] != 0 {
			i = (i + 1) & mask
		}
		x.hashes[i], x.refs[i], x.slots[i] = u, refs[j], slots[j]
	}
}

// live follows merges to the entity that holds slot's identifiers now.
func (x *index) live(slot int32) int32 {
	root := slot
	for x.ents[root].mergedInto >= 0 {
		root = x.ents[root].mergedInto
	}
	for x.ents[slot].mergedInto >= 0 && x.ents[slot].mergedInto != root {
		slot, x.ents[slot].mergedInto = x.ents[slot].mergedInto, root
	}
	return root
}

// root is live without shortening the paths: what a rebuild's bulk write
// reads must leave the index as its passes left it (a revived entity
// would otherwise take over the identifiers of entities that merged into
// it before).
func (x *index) root(slot int32) int32 {
	for x.ents[slot].mergedInto >= 0 {
		slot = x.ents[slot].mergedInto
	}
	return slot
}

func (x *index) addEntity(id string, createdSeq, firstAt, nameSeq int64, counts []int32) (int32, error) {
	var ent indexEntity
	if len(id) != 32 {
		return 0, fmt.Errorf("entity id %q is not an md5", id)
	}
	if _, err := hex.Decode(ent.id[:], []byte(id)); err != nil {
		return 0, fmt.Errorf("entity id %q is not an md5: %w", id, err)
	}
	ent.createdSeq, ent.firstAt, ent.nameSeq, ent.mergedInto, ent.component = createdSeq, firstAt, nameSeq, -1, -1
	x.ents = append(offheap.Grow(x.mem, x.ents, 1), ent)
	x.counts = append(offheap.Grow(x.mem, x.counts, len(counts)), counts...)
	slot := int32(len(x.ents) - 1)
	if x.byID != nil {
		x.putID(ent.id, slot)
	}
	return slot, nil
}

// idHash is where byID's probing for id starts.
func (x *index) idHash(id *[16]byte) uint64 { return maphash.Bytes(x.seed, id[:]) }

// findID is the slot of the entity with this id (the last added), or -1;
// byID must be built.
func (x *index) findID(id *[16]byte) int32 {
	mask := uint64(len(x.byID) - 1)
	for i := x.idHash(id) & mask; ; i = (i + 1) & mask {
		s := x.byID[i]
		if s == 0 {
			return -1
		}
		if x.ents[s-1].id == *id {
			return s - 1
		}
	}
}

// putID records that slot holds the entity with this id.
func (x *index) putID(id [16]byte, slot int32) {
	if 4*(x.byIDn+1) > 3*len(x.byID) {
		old := x.byID
		n := max(1<<16, 2*len(old))
		x.byID, x.byIDn = offheap.Make[int32](x.mem, n, n), 0
		for _, s := range old {
			if s != 0 {
				x.putID(x.ents[s-1].id, s-1)
			}
		}
		offheap.Release(x.mem, old)
	}
	mask := uint64(len(x.byID) - 1)
	for i := x.idHash(&id) & mask; ; i = (i + 1) & mask {
		s := x.byID[i]
		if s == 0 {
			x.byID[i] = slot + 1
			x.byIDn++
			return
		}
		if x.ents[s-1].id == id {
			x.byID[i] = slot + 1
			return
		}
	}
}

// buildByID makes byID, if not made yet.
func (x *index) buildByID() {
	if x.byID != nil {
		return
	}
	n := 1 << 16
	for 3*n < 4*(len(x.ents)+1) {
		n *= 2
	}
	x.byID = offheap.Make[int32](x.mem, n, n)
	for slot := range x.ents {
		x.putID(x.ents[slot].id, int32(slot))
	}
}

// setComponent records that the entity in slot is in the cut component
// comp ("": none).
func (x *index) setComponent(slot int32, comp string) {
	if comp == "" {
		x.ents[slot].component = -1
		return
	}
	n, ok := x.comps[comp]
	if !ok {
		n = int32(len(x.comps))
		x.comps[strings.Clone(comp)] = n // it may point into a packed row
	}
	if x.ents[slot].component != n {
		x.ents[slot].component = n
		x.members[n] = append(x.members[n], slot)
	}
}

// componentMembers calls fn with the slot of each live entity of cut
// component n, once each.
func (x *index) componentMembers(n int32, fn func(slot int32)) {
	list := x.members[n]
	live := list[:0]
	seen := make(map[int32]bool, len(list))
	for _, slot := range list {
		if x.ents[slot].component == n && !seen[slot] {
			seen[slot] = true
			live = append(live, slot)
		}
	}
	x.members[n] = live // the stale ones dropped
	for _, slot := range live {
		if x.ents[slot].mergedInto < 0 {
			fn(slot)
		}
	}
}

// slotOf is the slot of the entity with this id, or -1.
func (x *index) slotOf(id string) int32 {
	var key [16]byte
	if len(id) != 32 {
		return -1
	}
	if _, err := hex.Decode(key[:], []byte(id)); err != nil {
		return -1
	}
	x.buildByID()
	return x.findID(&key)
}

// set records what a pass wrote of the live entity in slot.
// Its component is set apart (setComponent).
func (x *index) set(slot int32, createdSeq, firstAt, nameSeq int64, counts []int32) {
	ent := &x.ents[slot]
	ent.createdSeq, ent.firstAt, ent.nameSeq, ent.mergedInto = createdSeq, firstAt, nameSeq, -1
	delete(x.stale, slot)
	copy(x.counts[int(slot)*x.cats:], counts)
}

func (x *index) entity(slot int32) existingEntity {
	return existingEntity{
		id:          hex.EncodeToString(x.ents[slot].id[:]),
		createdSeq:  x.ents[slot].createdSeq,
		firstAt:     x.ents[slot].firstAt,
		nameSeq:     x.ents[slot].nameSeq,
		staleCounts: x.stale[slot],
		labeled:     x.ents[slot].component >= 0,
		counts:      append([]int32(nil), x.counts[int(slot)*x.cats:int(slot+1)*x.cats]...),
		slot:        slot,
	}
}

// newToken is a pass_token.
func newToken() int64 { return rand.Int64() }

// state reads stitch_state's watermark and pass_token.
func (e *Engine) state(ctx context.Context) (wm, token int64, err error) {
	err = e.db.QueryRowContext(ctx, e.db.Query("StitchWatermarkToken")).Scan(&wm, &token)
	return wm, token, err
}

// ensureIndex makes e.idx reflect the state at watermark wm and token, or
// leaves it nil if the index is off.
func (e *Engine) ensureIndex(ctx context.Context, wm, token int64) error {
	if e.noIndex || (e.idx != nil && e.idx.watermark == wm && e.idx.token == token) {
		return nil
	}
	e.idx = nil
	idx, err := e.loadIndex(ctx)
	if err != nil {
		return err
	}
	// Nothing was committed while loading if the state is the same after.
	wm2, token2, err := e.state(ctx)
	if err != nil {
		return err
	}
	if idx != nil && wm2 == wm && token2 == token {
		idx.watermark, idx.token = wm, token
		e.idx = idx
	}
	return nil
}

// loadIndex reads the index from the tables; nil (and the index off) if
// they hold what it cannot represent.
func (e *Engine) loadIndex(ctx context.Context) (*index, error) {
	idx := newIndex(len(e.cats), e.hashMask)
	idx.buildByID()
	var merged []struct {
		slot int32
		into [16]byte
	}
	counts := make([]int32, len(e.cats))
	bad := false
	err := scanPacked(ctx, e.db, `SELECT string_agg(concat(created_seq, chr(30), `+firstAtSQL+`, chr(30),
		    id, chr(30), coalesce(merged_into, ''), chr(30), identifier_counts, chr(30), coalesce(component, '')), chr(31))
		FROM entities GROUP BY created_seq - created_seq % 65536`, nil, 6, func(f []string) error {
		seq, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return err
		}
		firstAt, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return err
		}
		clear(counts)
		stale, err := e.parseCounts(f[4], counts)
		if err != nil {
			return err
		}
		slot, err := idx.addEntity(f[2], seq, firstAt, 0, counts)
		if err != nil {
			bad = true
			return nil
		}
		if stale {
			if idx.stale == nil {
				idx.stale = map[int32]bool{}
			}
			idx.stale[slot] = true
		}
		idx.setComponent(slot, f[5])
		if f[3] != "" {
			m := struct {
				slot int32
				into [16]byte
			}{slot: slot}
			if _, err := hex.Decode(m.into[:], []byte(f[3])); err != nil || len(f[3]) != 32 {
				bad = true
			}
			merged = append(merged, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load stitching index: entities: %w", err)
	}
	for _, m := range merged {
		into := idx.findID(&m.into)
		if into < 0 {
			bad = true
			break
		}
		idx.ents[m.slot].mergedInto = into
	}
	if bad {
		e.noIndex = true
		return nil, nil
	}
	err = scanPacked(ctx, e.db, `SELECT string_agg(concat(entity_id, chr(30), category, chr(30), `+escapeSQL("value")+`), chr(31))
		FROM identifiers GROUP BY first_seq - first_seq % 65536`, nil, 3, func(f []string) error {
		var id [16]byte
		if _, err := hex.Decode(id[:], []byte(f[0])); err != nil {
			bad = true
			return nil
		}
		slot := idx.findID(&id)
		c, known := e.catIx[f[1]]
		if slot < 0 {
			bad = true
			return nil
		}
		if !known {
			return nil // a category the config no longer has
		}
		k := identKey{c, unescape(f[2])}
		return idx.put(k, slot)
	})
	if errors.Is(err, errIndexFull) {
		e.noIndex = true
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load stitching index: identifiers: %w", err)
	}
	if bad {
		e.noIndex = true
		return nil, nil
	}
	if err := e.loadAmbiguous(ctx, idx); err != nil {
		return nil, err
	}
	if len(idx.ents) == 0 {
		// Nothing stitched yet: the passes to come read every event.
		idx.carried = &carriedKeys{}
	}
	return idx, nil
}

// loadAmbiguous reads the ambiguous identifiers into idx.
func (e *Engine) loadAmbiguous(ctx context.Context, idx *index) error {
	return scanPacked(ctx, e.db, `SELECT string_agg(concat(category, chr(30), `+escapeSQL("value")+`), chr(31))
		FROM (SELECT DISTINCT category, value FROM stitch_refused WHERE reason = '`+reasonAmbiguous+`') a`, nil, 2, func(f []string) error {
		c, known := e.catIx[f[0]]
		if !known {
			return nil
		}
		k := identKey{c, unescape(f[1])}
		idx.amb[k] = true
		if _, ok := idx.get(k); !ok {
			return idx.put(k, -1)
		}
		return nil
	})
}

// lookupIndex is lookup through the index: no query.
func (e *Engine) lookupIndex(b *batch, owner []int32) []existingEntity {
	idx := e.idx
	var entities []existingEntity
	bySlot := map[int32]int32{}
	for k, key := range b.keys {
		if idx.amb[key] {
			b.markAmbiguous(int32(k))
		}
		slot, ok := idx.get(key)
		if !ok || slot < 0 {
			continue
		}
		slot = idx.live(slot)
		i, ok := bySlot[slot]
		if !ok {
			i = int32(len(entities))
			bySlot[slot] = i
			entities = append(entities, idx.entity(slot))
		}
		owner[k] = i
	}
	return entities
}

// apply brings the index to the state after the pass that wrote p.
func (x *index) apply(b *batch, p *plan, token int64) error {
	newSlots := make([]int32, len(p.newEntities))
	for j, n := range p.newEntities {
		slot, err := x.addEntity(n.id, n.createdSeq, n.firstAt, n.nameSeq, n.counts)
		if err != nil {
			return err
		}
		newSlots[j] = slot
	}
	slotOf := func(ref int32) int32 {
		if ref >= 0 {
			return p.existing[ref].slot
		}
		return newSlots[-ref-1]
	}
	for _, t := range p.touched {
		slot := p.existing[t.ix].slot
		if t.mergedInto != "" {
			x.ents[slot].mergedInto = slotOf(t.survivor)
			continue
		}
		copy(x.counts[int(slot)*x.cats:], t.counts)
		x.ents[slot].createdSeq = t.newSeq
		delete(x.stale, slot)
	}
	for _, id := range p.identifiers {
		if err := x.put(id.key, slotOf(id.ref)); err != nil {
			return err
		}
	}
	if p.region != nil {
		if err := x.applyRegion(p.region); err != nil {
			return err
		}
	}
	x.watermark, x.token = b.hi, token
	return nil
}

// applyRegion records the re-clustered components.
func (x *index) applyRegion(rp *regionPlan) error {
	r, c := rp.r, rp.c
	slots := make([]int32, len(c.clusters))
	for i, cl := range c.clusters {
		first := r.events[cl.first]
		slot := int32(-1)
		switch {
		case rp.kept[i] >= 0:
			slot = rp.old[rp.kept[i]].slot
		case rp.revived[i]:
			slot = x.slotOf(rp.ids[i])
		default:
			s, err := x.addEntity(rp.ids[i], cl.minSeq, first.at, first.seq, cl.counts)
			if err != nil {
				return err
			}
			slot = s
		}
		if slot < 0 {
			return fmt.Errorf("entity %s is not in the index", rp.ids[i])
		}
		x.set(slot, cl.minSeq, first.at, first.seq, cl.counts)
		slots[i] = slot
	}
	for i, cl := range c.clusters {
		comp := "" // as writeRegionEntities writes it
		if cl.cut {
			comp = rp.ids[cl.component]
		}
		x.setComponent(slots[i], comp)
	}
	for _, g := range rp.gone {
		slot := rp.old[g.old].slot
		if slot < 0 {
			return fmt.Errorf("entity %s is not in the index", rp.old[g.old].id)
		}
		x.ents[slot].mergedInto = slots[g.into]
		x.setComponent(slot, "")
	}
	// An identifier every link of which was refused points at an entity
	// whose event carries it: a pass that meets it again re-clusters that
	// entity's component, which holds all its carriers.
	carrier := make([]int32, len(r.keys))
	for i := range carrier {
		carrier[i] = -1
	}
	for _, f := range c.refused {
		if carrier[f.key] < 0 {
			carrier[f.key] = c.cluster[f.ev]
		}
	}
	for _, k := range r.newAmb {
		// Its carriers are not its holders. It was held in the region (it
		// linked all its carriers): a holder it keeps is put below.
		x.amb[r.keys[k]] = true
		if err := x.put(r.keys[k], -1); err != nil {
			return err
		}
	}
	for k, key := range r.keys {
		o := c.keyOwner[k]
		if o < 0 && !r.amb[k] {
			o = carrier[k]
		}
		if o < 0 {
			continue
		}
		if err := x.put(key, slots[o]); err != nil {
			return err
		}
	}
	return nil
}
