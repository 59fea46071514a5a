package stitch

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// index is the engine's memory of the stitching state, so that a pass
// need not search the identifier and entity tables (DuckDB has no index on
// them): the key_hash of every identifier with the entity that holds it,
// and every entity's id, created_seq, identifier counts and merge. It
// costs about 30 bytes per identifier and 40 per entity.
//
// Like the DuckDB store's id set, it proves absence and only suggests
// presence: a key hash it lacks is a new identifier; one it has is checked
// against the identifiers table (category and value), in one narrow query
// over the batch's candidates. Two stored identifiers with the same hash
// make it give up: the engine then searches the tables, as without it.
//
// It reflects the state of one pass: stitch_state's watermark and
// pass_token, a random number every pass and reset writes. Run compares
// them before its first pass and reloads the index from the tables when
// another process (or a failed commit) changed the state.
type index struct {
	watermark int64
	token     int64

	hashes []uint64 // open addressing; 0 is empty, hash 0 is stored as 1
	slots  []int32  // entity of hashes[i], or ambiguous
	n      int

	ents   []indexEntity
	counts []int32 // counts[slot*cats+c]
	cats   int
}

type indexEntity struct {
	id         [16]byte // the md5 its hex id encodes
	createdSeq int64
	mergedInto int32 // -1 if live
}

// ambiguous marks a hash that two identifiers share.
const ambiguous = -2

var errAmbiguous = errors.New("two identifiers share a key hash")

func newIndex(cats int) *index {
	return &index{cats: cats, hashes: make([]uint64, 1<<16), slots: make([]int32, 1<<16)}
}

func fold(h int64) uint64 {
	if h == 0 {
		return 1
	}
	return uint64(h)
}

// get returns the entity slot of key hash h, whether it has one, or ambiguous.
func (x *index) get(h int64) (int32, bool) {
	u := fold(h)
	mask := uint64(len(x.hashes) - 1)
	for i := u & mask; ; i = (i + 1) & mask {
		switch x.hashes[i] {
		case u:
			return x.slots[i], true
		case 0:
			return 0, false
		}
	}
}

// put records that the entity in slot holds an identifier with key hash h.
func (x *index) put(h int64, slot int32) {
	if 4*(x.n+1) > 3*len(x.hashes) {
		x.grow()
	}
	u := fold(h)
	mask := uint64(len(x.hashes) - 1)
	for i := u & mask; ; i = (i + 1) & mask {
		switch x.hashes[i] {
		case u:
			if x.slots[i] != slot {
				x.slots[i] = ambiguous
			}
			return
		case 0:
			x.hashes[i], x.slots[i] = u, slot
			x.n++
			return
		}
	}
}

func (x *index) grow() {
	old, oldSlots := x.hashes, x.slots
	x.hashes, x.slots = make([]uint64, 2*len(old)), make([]int32, 2*len(old))
	mask := uint64(len(x.hashes) - 1)
	for j, u := range old {
		if u == 0 {
			continue
		}
		i := u & mask
		for x.hashes[i] != 0 {
			i = (i + 1) & mask
		}
		x.hashes[i], x.slots[i] = u, oldSlots[j]
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

func (x *index) addEntity(id string, createdSeq int64, counts []int32) (int32, error) {
	var ent indexEntity
	if len(id) != 32 {
		return 0, fmt.Errorf("entity id %q is not an md5", id)
	}
	if _, err := hex.Decode(ent.id[:], []byte(id)); err != nil {
		return 0, fmt.Errorf("entity id %q is not an md5: %w", id, err)
	}
	ent.createdSeq, ent.mergedInto = createdSeq, -1
	x.ents = append(x.ents, ent)
	x.counts = append(x.counts, counts...)
	return int32(len(x.ents) - 1), nil
}

func (x *index) entity(slot int32) existingEntity {
	return existingEntity{
		id:         hex.EncodeToString(x.ents[slot].id[:]),
		createdSeq: x.ents[slot].createdSeq,
		counts:     append([]int32(nil), x.counts[int(slot)*x.cats:int(slot+1)*x.cats]...),
		slot:       slot,
	}
}

// newToken is a pass_token.
func newToken() int64 { return rand.Int64() }

// state reads stitch_state's watermark and pass_token.
func (e *Engine) state(ctx context.Context) (wm, token int64, err error) {
	err = e.db.QueryRowContext(ctx, "SELECT watermark, pass_token FROM stitch_state WHERE id = 1").Scan(&wm, &token)
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
	idx := newIndex(len(e.cats))
	byID := map[[16]byte]int32{}
	var merged []struct {
		slot int32
		into [16]byte
	}
	counts := make([]int32, len(e.cats))
	bad := false
	err := scanPacked(ctx, e.db, `SELECT string_agg(concat(id, chr(30), created_seq, chr(30), coalesce(merged_into, ''), chr(30), identifier_counts), chr(31))
		FROM entities GROUP BY created_seq - created_seq % 65536`, nil, 4, func(f []string) error {
		seq, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return err
		}
		clear(counts)
		if err := e.parseCounts(f[3], counts); err != nil {
			return err
		}
		slot, err := idx.addEntity(f[0], seq, counts)
		if err != nil {
			bad = true
			return nil
		}
		byID[idx.ents[slot].id] = slot
		if f[2] != "" {
			m := struct {
				slot int32
				into [16]byte
			}{slot: slot}
			if _, err := hex.Decode(m.into[:], []byte(f[2])); err != nil || len(f[2]) != 32 {
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
		into, ok := byID[m.into]
		if !ok {
			bad = true
			break
		}
		idx.ents[m.slot].mergedInto = into
	}
	if bad {
		e.noIndex = true
		return nil, nil
	}
	err = scanPacked(ctx, e.db, `SELECT string_agg(concat(key_hash, chr(30), entity_id), chr(31))
		FROM identifiers GROUP BY first_seq - first_seq % 65536`, nil, 2, func(f []string) error {
		h, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return err
		}
		var id [16]byte
		if _, err := hex.Decode(id[:], []byte(f[1])); err != nil {
			bad = true
			return nil
		}
		slot, ok := byID[id]
		if !ok {
			bad = true
			return nil
		}
		idx.put(h, slot)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load stitching index: identifiers: %w", err)
	}
	if bad {
		e.noIndex = true
		return nil, nil
	}
	return idx, nil
}

// lookupIndex is lookup through the index.
func (e *Engine) lookupIndex(ctx context.Context, b *batch, owner []int32) ([]existingEntity, error) {
	idx := e.idx
	cand := make([]int32, len(b.keys)) // entity slot suggested for each key, or -1
	var hashes plainList
	for k, key := range b.keys {
		cand[k] = -1
		h := e.keyHash(key)
		slot, ok := idx.get(h)
		if !ok {
			continue
		}
		if slot == ambiguous {
			return nil, errAmbiguous
		}
		cand[k] = slot
		hashes.addInt(h)
	}
	if hashes.n == 0 {
		return nil, nil
	}
	rows, err := e.db.QueryContext(ctx, `SELECT category, value FROM identifiers
		WHERE key_hash IN (SELECT `+plainListSQL("$1", "BIGINT")+`)`, hashes.String())
	if err != nil {
		return nil, fmt.Errorf("look up identifiers: %w", err)
	}
	defer rows.Close()
	var entities []existingEntity
	bySlot := map[int32]int32{}
	for rows.Next() {
		var cat, val string
		if err := rows.Scan(&cat, &val); err != nil {
			return nil, err
		}
		c, ok := e.catIx[cat]
		if !ok {
			continue
		}
		k, ok := b.keyIx[identKey{c, val}]
		if !ok || cand[k] < 0 {
			continue // another identifier with the same hash
		}
		slot := idx.live(cand[k])
		i, ok := bySlot[slot]
		if !ok {
			i = int32(len(entities))
			bySlot[slot] = i
			entities = append(entities, idx.entity(slot))
		}
		owner[k] = i
	}
	return entities, rows.Err()
}

// apply brings the index to the state after the pass that wrote p.
func (x *index) apply(e *Engine, b *batch, p *plan, token int64) error {
	slotOf := make(map[string]int32, len(p.existing)+len(p.newEntities))
	for _, ent := range p.existing {
		slotOf[ent.id] = ent.slot
	}
	for _, n := range p.newEntities {
		slot, err := x.addEntity(n.id, n.createdSeq, n.counts)
		if err != nil {
			return err
		}
		slotOf[n.id] = slot
	}
	for _, t := range p.touched {
		slot := slotOf[t.id]
		if t.mergedInto != "" {
			x.ents[slot].mergedInto = slotOf[t.mergedInto]
			continue
		}
		copy(x.counts[int(slot)*x.cats:], t.counts)
	}
	for _, id := range p.identifiers {
		x.put(e.keyHash(id.key), slotOf[id.entity])
	}
	x.watermark, x.token = b.hi, token
	return nil
}
