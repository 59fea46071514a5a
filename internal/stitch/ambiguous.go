package stitch

import (
	"context"
	"fmt"
	"slices"
)

// An identifier of a category without max_per_entity is ambiguous when
// the events that carry it carry, between them, more values of a guarded
// category than that category's max_per_entity: a shop tablet's cookie on
// which many customers sign in with their own e-mail, a family laptop
// two logins share. Such an identifier says nothing about who an event
// is, so it links only the events that carry nothing else (the tablet's
// anonymous page views stay together, as the device); an event that also
// carries another identifier is linked through the others alone, and its
// link through the ambiguous one is refused with reason "ambiguous".
//
// Whether an identifier is ambiguous depends on the set of events alone,
// never on their order, and it only ever turns true as events arrive.
// When it turns true, every event carrying it is in one component (it
// linked them), so the pass that sees it has them all in its region. It
// is remembered by its refused links (stitch_refused, reason ambiguous),
// so that later passes refuse its links without reading its events.
//
// Without this, one such identifier joins thousands of customers into one
// component cut by the guard rails, which every pass touching one of them
// re-clusters whole.
const reasonAmbiguous = "ambiguous"

// disambiguate marks r.amb for the identifiers its events make
// ambiguous, removes their links from the events that carry an
// unambiguous identifier, and returns those links as refusals.
func (e *Engine) disambiguate(r *region) []refusal {
	if r.amb == nil {
		r.amb = make([]bool, len(r.keys))
	}
	if e.guarded() {
		e.markAmbiguous(r)
	}
	if !slices.Contains(r.amb, true) {
		return nil
	}
	var out []refusal
	for ev := range r.events {
		kept, refused := linksOf(r.events[ev].keys, r.amb)
		for _, k := range refused {
			out = append(out, refusal{int32(ev), k, reasonAmbiguous})
		}
		r.events[ev].keys = kept
	}
	return out
}

// linksOf splits an event's identifiers into those it links through and
// those whose links are refused as ambiguous: an ambiguous identifier
// links only the events that carry nothing else. (An event that carries
// two never links through them, even when both are ambiguous: what an
// event links through must not change when another identifier turns
// ambiguous, or a pass would have to bring in the holders of the first.)
func linksOf(keys []int32, amb []bool) (kept, refused []int32) {
	if len(keys) < 2 || !slices.ContainsFunc(keys, func(k int32) bool { return amb[k] }) {
		return keys, nil
	}
	kept = make([]int32, 0, len(keys))
	for _, k := range keys {
		if amb[k] {
			refused = append(refused, k)
		} else {
			kept = append(kept, k)
		}
	}
	return kept, refused
}

// guarded reports whether some category has a max_per_entity.
func (e *Engine) guarded() bool {
	return slices.ContainsFunc(e.limit, func(l int32) bool { return l > 0 })
}

// markAmbiguous sets r.amb for the unguarded identifiers whose carriers
// carry too many values of a guarded category.
func (e *Engine) markAmbiguous(r *region) {
	carried := map[int32][]int32{} // unguarded key -> guarded keys its events carry
	var guarded []int32
	for ev := range r.events {
		guarded = guarded[:0]
		for _, k := range r.events[ev].keys {
			if e.limit[r.keys[k].cat] > 0 {
				guarded = append(guarded, k)
			}
		}
		if len(guarded) == 0 {
			continue
		}
		for _, k := range r.events[ev].keys {
			if e.limit[r.keys[k].cat] > 0 || r.amb[k] {
				continue
			}
			vals := carried[k]
			for _, g := range guarded {
				if !slices.Contains(vals, g) {
					vals = append(vals, g)
				}
			}
			carried[k] = vals
			if e.tooMany(r, vals) {
				r.amb[k] = true
				r.newAmb = append(r.newAmb, k)
				delete(carried, k)
			}
		}
	}
}

// tooMany reports whether the guarded keys vals hold more values of a
// category than its max_per_entity.
func (e *Engine) tooMany(r *region, vals []int32) bool {
	n := map[int]int32{}
	for _, g := range vals {
		c := r.keys[g].cat
		n[c]++
		if n[c] > e.limit[c] {
			return true
		}
	}
	return false
}

// knownAmbiguous sets r.amb for the identifiers earlier passes found
// ambiguous.
func (e *Engine) knownAmbiguous(ctx context.Context, r *region) error {
	r.amb = make([]bool, len(r.keys))
	if e.idx != nil {
		if len(e.idx.amb) == 0 {
			return nil
		}
		for k, key := range r.keys {
			r.amb[k] = e.idx.amb[key]
		}
		return nil
	}
	keyIx := make(map[identKey]int32, len(r.keys))
	for k, key := range r.keys {
		keyIx[key] = int32(k)
	}
	return e.readAmbiguous(ctx, r.keys, func(key identKey) {
		if k, ok := keyIx[key]; ok {
			r.amb[k] = true
		}
	})
}

// readAmbiguous calls found for each of keys that stitch_refused records
// as ambiguous.
func (e *Engine) readAmbiguous(ctx context.Context, keys []identKey, found func(identKey)) error {
	if len(keys) == 0 {
		return nil
	}
	var hashes plainList
	for _, k := range keys {
		hashes.addInt(e.keyHash(k))
	}
	rows, err := e.db.QueryContext(ctx, `SELECT DISTINCT category, value FROM stitch_refused
		WHERE reason = '`+reasonAmbiguous+`' AND key_hash IN (SELECT `+plainListSQL("$1", "BIGINT")+`)`, hashes.String())
	if err != nil {
		return fmt.Errorf("read ambiguous identifiers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cat, val string
		if err := rows.Scan(&cat, &val); err != nil {
			return err
		}
		if c, ok := e.catIx[cat]; ok {
			found(identKey{c, val})
		}
	}
	return rows.Err()
}

// batchLinks are, per event of b, the identifiers it links through when
// amb marks the ambiguous ones (nil: none is), and the links refused.
func batchLinks(b *batch, amb []bool) (links func(ev int) []int32, refused []link) {
	if !slices.Contains(amb, true) {
		return b.eventKeys, nil
	}
	off := make([]int32, 1, len(b.seqs)+1)
	var keys []int32
	for ev := range b.seqs {
		kept, dropped := linksOf(b.eventKeys(ev), amb)
		keys = append(keys, kept...)
		off = append(off, int32(len(keys)))
		for _, k := range dropped {
			refused = append(refused, link{int32(ev), k})
		}
	}
	return func(ev int) []int32 { return keys[off[ev]:off[ev+1]] }, refused
}
