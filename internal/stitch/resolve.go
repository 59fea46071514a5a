package stitch

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// existingEntity is an entity already in the store that the batch touches.
type existingEntity struct {
	id         string
	createdSeq int64
	counts     []int32 // identifier values per category
	slot       int32   // in the engine's index, -1 without it
}

// older reports whether a survives a merge with b.
func (a *existingEntity) older(b *existingEntity) bool {
	if a.createdSeq != b.createdSeq {
		return a.createdSeq < b.createdSeq
	}
	return a.id < b.id
}

// plan is what a pass writes.
type plan struct {
	existing    []existingEntity // the existing entities the batch touches
	eventEntity []string         // per batch event
	newEntities []newEntity
	merges      []merge
	touched     []touchedEntity // existing entities that got events, identifiers or merges
	identifiers []newIdentifier
}

type newEntity struct {
	id         string
	createdSeq int64
	counts     []int32 // identifier values per category
}

type touchedEntity struct {
	ix         int32 // in plan.existing
	id         string
	createdSeq int64
	counts     []int32 // the merged component's; nil for a loser
	mergedInto string  // the survivor, for a loser
	survivorIx int32   // the survivor's position in plan.existing
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

// resolve links the batch's events into entities.
func (e *Engine) resolve(ctx context.Context, b *batch) (*plan, error) {
	// Number the nodes: events, then identifiers, then existing entities.
	nEv, nKeys := len(b.seqs), len(b.keys)
	owner, entities, err := e.lookup(ctx, b)
	if err != nil {
		return nil, err
	}
	base := nEv + nKeys
	uf := newUnionFind(base+len(entities), len(e.cats))
	rep := make([]int32, len(uf.parent)) // per root: the entity that would survive, or -1
	for i := range rep {
		rep[i] = -1
	}
	for i := range entities {
		rep[base+i] = int32(i)
		copy(uf.counts[(base+i)*uf.cats:], entities[i].counts)
	}
	for k, o := range owner {
		n := int32(nEv + k)
		if o >= 0 {
			// Counted in the entity's counts already.
			rep[uf.union(n, uf.find(int32(base)+o))] = o
		} else {
			uf.counts[int(n)*uf.cats+b.keys[k].cat] = 1
		}
	}

	p := &plan{existing: entities}
	firstSeq := make([]int64, nKeys) // 0: never linked
	lostAt := map[int32]merge{}      // loser -> the link that made it lose
	for ev := range nEv {
		for _, k := range b.eventKeys(ev) {
			a, c := uf.find(int32(ev)), uf.find(int32(nEv)+k)
			if a == c {
				continue
			}
			if uf.exceeds(a, c, e.limit) {
				key := b.keys[k]
				b.audit1(auditKey{key.cat, key.value, "max_per_entity"}, b.seqs[ev])
				continue
			}
			ra, rc := rep[a], rep[c]
			root := uf.union(a, c)
			switch {
			case ra >= 0 && rc >= 0:
				win, lose := ra, rc
				if entities[rc].older(&entities[ra]) {
					win, lose = rc, ra
				}
				lostAt[lose] = merge{loserSeq: entities[lose].createdSeq, seq: b.seqs[ev], key: b.keys[k]}
				rep[root] = win
			case rc >= 0:
				rep[root] = rc
			default:
				rep[root] = ra
			}
			if firstSeq[k] == 0 {
				firstSeq[k] = b.seqs[ev]
			}
		}
	}

	// Name every component that holds events. Event nodes come first and a
	// union keeps the smaller node as root, so such a root is the
	// component's first event.
	newIx := make([]int32, nEv) // per new entity's first event: its position in p.newEntities
	touched := make([]bool, len(entities))
	p.eventEntity = make([]string, nEv)
	for ev := range nEv {
		root := uf.find(int32(ev))
		if r := rep[root]; r >= 0 {
			p.eventEntity[ev] = entities[r].id
			touched[r] = true
			continue
		}
		if int(root) == ev {
			newIx[ev] = int32(len(p.newEntities))
			p.newEntities = append(p.newEntities, newEntity{id: entityID(b.ids[ev]), createdSeq: b.seqs[ev], counts: slices.Clone(uf.rootCounts(root))})
		}
		p.eventEntity[ev] = p.newEntities[newIx[root]].id
	}
	survivor := make([]int32, len(entities)) // per loser; -1 for the others
	for i := range survivor {
		survivor[i] = -1
	}
	for lose, m := range lostAt {
		survivor[lose] = rep[uf.find(int32(base)+lose)]
		m.loser, m.survivor = entities[lose].id, entities[survivor[lose]].id
		p.merges = append(p.merges, m)
		touched[lose] = true
	}
	for i := range touched {
		t := touchedEntity{ix: int32(i), id: entities[i].id, createdSeq: entities[i].createdSeq, survivorIx: survivor[i]}
		switch {
		case t.survivorIx >= 0:
			t.mergedInto = entities[t.survivorIx].id
		case touched[i]:
			t.counts = slices.Clone(uf.rootCounts(uf.find(int32(base + i))))
		default:
			continue
		}
		p.touched = append(p.touched, t)
	}
	for k, o := range owner {
		if o >= 0 {
			continue
		}
		root := uf.find(int32(nEv + k))
		id := newIdentifier{key: b.keys[k], hash: e.keyHash(b.keys[k]), firstSeq: firstSeq[k]}
		switch r := rep[root]; {
		case r >= 0:
			id.entity, id.ref = entities[r].id, r
		case int(root) < nEv:
			id.entity, id.ref = p.newEntities[newIx[root]].id, -newIx[root]-1
		default:
			continue // linked to no event: every link was refused
		}
		p.identifiers = append(p.identifiers, id)
	}
	return p, nil
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
	rows, err := e.db.QueryContext(ctx, `SELECT category, value, entity_id FROM identifiers
		WHERE key_hash IN (SELECT `+plainListSQL("$1", "BIGINT")+`)`, hashes.String())
	if err != nil {
		return nil, nil, fmt.Errorf("look up identifiers: %w", err)
	}
	held := map[int32]string{} // key -> entity id
	index := map[string]int32{}
	var list plainList
	for rows.Next() {
		var cat, val, ent string
		if err := rows.Scan(&cat, &val, &ent); err != nil {
			rows.Close()
			return nil, nil, err
		}
		c, ok := e.catIx[cat]
		if !ok {
			continue
		}
		k, ok := b.keyIx[identKey{c, val}]
		if !ok {
			continue // another identifier with the same hash
		}
		held[k] = ent
		if _, ok := index[ent]; !ok {
			index[ent] = -1
			list.add(ent)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("look up identifiers: %w", err)
	}
	if len(held) == 0 {
		return owner, nil, nil
	}
	rows, err = e.db.QueryContext(ctx, `SELECT id, created_seq, identifier_counts FROM entities WHERE id IN (SELECT `+plainListSQL("$1", "TEXT")+`)`, list.String())
	if err != nil {
		return nil, nil, fmt.Errorf("read entities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		x := existingEntity{counts: make([]int32, len(e.cats)), slot: -1}
		var counts string
		if err := rows.Scan(&x.id, &x.createdSeq, &counts); err != nil {
			return nil, nil, err
		}
		if err := e.parseCounts(counts, x.counts); err != nil {
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
// does not have are left out.
func (e *Engine) parseCounts(s string, counts []int32) error {
	var m map[string]int32
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return err
	}
	for cat, n := range m {
		if c, ok := e.catIx[cat]; ok {
			counts[c] = n
		}
	}
	return nil
}
