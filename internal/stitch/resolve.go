package stitch

import (
	"context"
	"fmt"
)

// existingEntity is an entity already in the store that the batch touches.
type existingEntity struct {
	id         string
	createdSeq int64
	counts     []int32 // identifier values per category
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
	eventEntity []string // per batch event
	newEntities []newEntity
	merges      []merge
	touched     []string // existing entities that got events or merges
	identifiers []newIdentifier
}

type newEntity struct {
	id         string
	createdSeq int64
}

type merge struct {
	survivor, loser string
	seq             int64
	key             identKey
}

type newIdentifier struct {
	key      identKey
	entity   string
	firstSeq int64
}

// resolve links the batch's events into entities.
func (e *Engine) resolve(ctx context.Context, b *batch) (*plan, error) {
	// Number the nodes: events, then identifiers, then existing entities.
	nEv := len(b.seqs)
	identNode := map[identKey]int32{}
	var keys []identKey
	for _, ks := range b.idents {
		for _, k := range ks {
			if _, ok := identNode[k]; !ok {
				identNode[k] = int32(nEv + len(keys))
				keys = append(keys, k)
			}
		}
	}
	owner, entities, err := e.lookup(ctx, keys)
	if err != nil {
		return nil, err
	}
	entNode := map[string]int32{}
	base := nEv + len(keys)
	for i, ent := range entities {
		entNode[ent.id] = int32(base + i)
	}
	uf := newUnionFind(base+len(entities), len(e.cats))
	rep := make([]*existingEntity, len(uf.parent)) // per root: the entity that would survive
	for i := range entities {
		n := entNode[entities[i].id]
		rep[n] = &entities[i]
		copy(uf.counts[int(n)*uf.cats:], entities[i].counts)
	}
	for k, n := range identNode {
		if ent, ok := owner[k]; ok {
			// Counted in the entity's counts already.
			en := entNode[ent]
			rep[uf.union(uf.find(n), uf.find(en))] = rep[en]
		} else {
			uf.counts[int(n)*uf.cats+k.cat] = 1
		}
	}

	p := &plan{}
	firstSeq := map[identKey]int64{}
	lostAt := map[string]merge{} // loser -> the link that made it lose
	for ev, ks := range b.idents {
		for _, k := range ks {
			a, c := uf.find(int32(ev)), uf.find(identNode[k])
			if a == c {
				continue
			}
			if uf.exceeds(a, c, e.limit) {
				b.audit1(auditKey{k.cat, k.value, "max_per_entity"}, b.seqs[ev])
				continue
			}
			ra, rc := rep[a], rep[c]
			root := uf.union(a, c)
			switch {
			case ra != nil && rc != nil:
				win, lose := ra, rc
				if rc.older(ra) {
					win, lose = rc, ra
				}
				lostAt[lose.id] = merge{loser: lose.id, seq: b.seqs[ev], key: k}
				rep[root] = win
			case rc != nil:
				rep[root] = rc
			default:
				rep[root] = ra
			}
			if _, ok := firstSeq[k]; !ok {
				firstSeq[k] = b.seqs[ev]
			}
		}
	}

	// Name every component that holds events. Event nodes come first and a
	// union keeps the smaller node as root, so such a root is the
	// component's first event.
	p.eventEntity = make([]string, nEv)
	touched := map[string]bool{}
	for ev := range nEv {
		root := uf.find(int32(ev))
		if r := rep[root]; r != nil {
			p.eventEntity[ev] = r.id
			touched[r.id] = true
			continue
		}
		if int(root) == ev {
			p.newEntities = append(p.newEntities, newEntity{id: entityID(b.ids[ev]), createdSeq: b.seqs[ev]})
		}
		p.eventEntity[ev] = entityID(b.ids[root])
	}
	for _, m := range lostAt {
		m.survivor = rep[uf.find(entNode[m.loser])].id
		p.merges = append(p.merges, m)
		touched[m.loser] = true
	}
	for id := range touched {
		p.touched = append(p.touched, id)
	}
	for k, n := range identNode {
		if _, ok := owner[k]; ok {
			continue
		}
		root := uf.find(n)
		if int(root) >= nEv && rep[root] == nil {
			continue // linked to no event: every link was refused
		}
		ent := ""
		if r := rep[root]; r != nil {
			ent = r.id
		} else {
			ent = entityID(b.ids[root])
		}
		p.identifiers = append(p.identifiers, newIdentifier{key: k, entity: ent, firstSeq: firstSeq[k]})
	}
	return p, nil
}

// lookup finds which of the keys are in the identifier index, and the
// entities that hold them, with their identifier counts.
func (e *Engine) lookup(ctx context.Context, keys []identKey) (map[identKey]string, []existingEntity, error) {
	owner := map[identKey]string{}
	if len(keys) == 0 {
		return owner, nil, nil
	}
	var cats plainList
	var vals textList
	for _, k := range keys {
		cats.add(e.cats[k.cat])
		vals.add(k.value)
	}
	rows, err := e.db.QueryContext(ctx, `SELECT i.category, i.value, i.entity_id
		FROM identifiers i
		JOIN (SELECT `+plainListSQL("$1", "TEXT")+` AS category, `+textListSQL("$2")+` AS value) l
		  ON i.category = l.category AND i.value = l.value`, cats.String(), vals.String())
	if err != nil {
		return nil, nil, fmt.Errorf("look up identifiers: %w", err)
	}
	ids := map[string]bool{}
	for rows.Next() {
		var cat, val, ent string
		if err := rows.Scan(&cat, &val, &ent); err != nil {
			rows.Close()
			return nil, nil, err
		}
		owner[identKey{e.catIx[cat], val}] = ent
		ids[ent] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(ids) == 0 {
		return owner, nil, nil
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	entities, err := e.entityInfo(ctx, list)
	return owner, entities, err
}

func (e *Engine) entityInfo(ctx context.Context, list []string) ([]existingEntity, error) {
	var ids plainList
	for _, id := range list {
		ids.add(id)
	}
	rows, err := e.db.QueryContext(ctx, `SELECT id, created_seq FROM entities WHERE id IN (SELECT `+plainListSQL("$1", "TEXT")+`)`, ids.String())
	if err != nil {
		return nil, fmt.Errorf("read entities: %w", err)
	}
	var out []existingEntity
	index := map[string]int{}
	for rows.Next() {
		ent := existingEntity{counts: make([]int32, len(e.cats))}
		if err := rows.Scan(&ent.id, &ent.createdSeq); err != nil {
			rows.Close()
			return nil, err
		}
		index[ent.id] = len(out)
		out = append(out, ent)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = e.db.QueryContext(ctx, `SELECT entity_id, category, count(*) FROM identifiers
		WHERE entity_id IN (SELECT `+plainListSQL("$1", "TEXT")+`) GROUP BY entity_id, category`, ids.String())
	if err != nil {
		return nil, fmt.Errorf("count identifiers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, cat string
		var n int32
		if err := rows.Scan(&id, &cat, &n); err != nil {
			return nil, err
		}
		if c, ok := e.catIx[cat]; ok {
			out[index[id]].counts[c] = n
		}
	}
	return out, rows.Err()
}
