package stitch

import (
	"encoding/json"
	"math"
	"time"
)

// execFunc runs one statement of a pass's transaction (none if n is 0).
type execFunc func(what string, n int, query string, args ...any) error

// writeRegion writes the re-clustered components: their events, identifiers
// and refused links are replaced, their entities updated, created, revived
// or retired, and merges and splits recorded.
func (e *Engine) writeRegion(rp *regionPlan, now time.Time, exec execFunc) error {
	r, c := rp.r, rp.c
	var oldIDs plainList
	for _, o := range rp.old {
		oldIDs.add(o.id)
	}
	// The old events keep their mappings, moved to their new entities (an
	// UPDATE keeps the event's source, type and time); the batch's are
	// mapped with them, from the log's rows of their seqs. Deleted and
	// inserted again, the old ones had to be joined to the log over the
	// seq range of the region, a scan of most of it (30 to 80 ms for 500
	// to 1,000 events at 10M).
	var oldEvSeqs, oldEvEnts, newEvSeqs, newEvEnts plainList
	oldLo, oldHi := int64(math.MaxInt64), int64(math.MinInt64)
	newLo, newHi := int64(math.MaxInt64), int64(math.MinInt64)
	for ev := range r.events {
		seq := r.events[ev].seq
		if rp.batch[ev] < 0 {
			oldEvSeqs.addInt(seq)
			oldEvEnts.add(rp.ids[c.cluster[ev]])
			oldLo, oldHi = min(oldLo, seq), max(oldHi, seq)
			continue
		}
		newEvSeqs.addInt(seq)
		newEvEnts.add(rp.ids[c.cluster[ev]])
		newLo, newHi = min(newLo, seq), max(newHi, seq)
	}
	remap := "entity_id = t.entity_id"
	if e.keyed("entity_events") {
		remap += ", entity_key = " + e.db.Capabilities().EntityKeyOf("t.entity_id")
	}
	var kCats, kEnts, kSeqs, kHashes plainList
	var kVals textList
	for k, key := range r.keys {
		if o := c.keyOwner[k]; o >= 0 {
			kCats.add(e.cats[key.cat])
			kVals.add(key.value)
			kEnts.add(rp.ids[o])
			kSeqs.addInt(c.keySeq[k])
			kHashes.addInt(e.keyHash(key))
		}
	}
	var fEnts, fSeqs, fCats, fReasons, fHashes plainList
	var fVals textList
	for _, f := range c.refused {
		key := r.keys[f.key]
		fEnts.add(rp.ids[c.cluster[f.ev]])
		fSeqs.addInt(r.events[f.ev].seq)
		fCats.add(e.cats[key.cat])
		fVals.add(key.value)
		fReasons.add(f.reason)
		fHashes.addInt(e.keyHash(key))
	}
	ids := "(SELECT " + plainListSQL("$1", "TEXT") + ")"
	oldIdentifiers := e.byKeys("identifiers", "entity_key") + "entity_id IN " + ids
	steps := []struct {
		what  string
		n     int
		query string
		args  []any
	}{
		{"re-map events", oldEvSeqs.n, `UPDATE entity_events SET ` + remap + ` FROM (SELECT ` + plainListSQL("$1", "BIGINT") + ` AS event_seq, ` +
			plainListSQL("$2", "TEXT") + ` AS entity_id) t WHERE entity_events.event_seq = t.event_seq AND entity_events.event_seq BETWEEN $3 AND $4`,
			[]any{oldEvSeqs.String(), oldEvEnts.String(), oldLo, oldHi}},
		{"map the region's new events", newEvSeqs.n, e.mapEventsSQL(`SELECT `+plainListSQL("$1", "BIGINT")+` AS event_seq, `+plainListSQL("$2", "TEXT")+` AS entity_id`, "$3", "$4"),
			[]any{newEvSeqs.String(), newEvEnts.String(), newLo - 1, newHi}},
		{"re-link identifiers", oldIDs.n, `DELETE FROM identifiers WHERE ` + oldIdentifiers, []any{oldIDs.String()}},
		{"re-link identifiers", kCats.n, e.insertKeyed("identifiers", "category, value, entity_id, first_seq, key_hash",
			`SELECT `+plainListSQL("$1", "TEXT")+` AS category, `+textListSQL("$2")+` AS value, `+plainListSQL("$3", "TEXT")+` AS entity_id, `+
				plainListSQL("$4", "BIGINT")+` AS first_seq, `+plainListSQL("$5", "BIGINT")+` AS key_hash`),
			[]any{kCats.String(), kVals.String(), kEnts.String(), kSeqs.String(), kHashes.String()}},
		{"record refused links", oldIDs.n, `DELETE FROM stitch_refused WHERE entity_id IN ` + ids, []any{oldIDs.String()}},
		{"record refused links", fEnts.n, `INSERT INTO stitch_refused (entity_id, event_seq, category, value, reason, key_hash)
			SELECT ` + plainListSQL("$1", "TEXT") + `, ` + plainListSQL("$2", "BIGINT") + `, ` + plainListSQL("$3", "TEXT") + `, ` + textListSQL("$4") + `, ` +
			plainListSQL("$5", "TEXT") + `, ` + plainListSQL("$6", "BIGINT"),
			[]any{fEnts.String(), fSeqs.String(), fCats.String(), fVals.String(), fReasons.String(), fHashes.String()}},
	}
	if oldEvSeqs.n >= copyMoveMin || (e.copyMoves && oldEvSeqs.n > 0) {
		// Many, spread over the table (a rebuild's final re-clustering):
		// copied, and those whose entity changes deleted and inserted again.
		args := []any{oldEvSeqs.String(), oldEvEnts.String(), oldLo, oldHi}
		fill := statement{`SELECT ee.event_seq, t.entity_id, ee.source_id, ee.type, ee.event_time FROM entity_events ee
			JOIN (SELECT ` + plainListSQL("$1", "BIGINT") + ` AS event_seq, ` + plainListSQL("$2", "TEXT") + ` AS entity_id) t
			ON ee.event_seq = t.event_seq AND ee.entity_id <> t.entity_id WHERE ee.event_seq BETWEEN $3 AND $4`, args}
		del := statement{`DELETE FROM entity_events WHERE event_seq IN (SELECT event_seq FROM stitch_moved) AND event_seq BETWEEN $1 AND $2`, []any{oldLo, oldHi}}
		if err := e.moveByCopy(exec, "re-map events", oldEvSeqs.n, "entity_events", "event_seq, entity_id, source_id, type, event_time", fill, del); err != nil {
			return err
		}
		steps[0].n = 0 // the UPDATE: nothing left to do
	}
	for _, s := range steps {
		if err := exec(s.what, s.n, s.query, s.args...); err != nil {
			return err
		}
	}
	if err := e.writeRegionEntities(rp, now, exec); err != nil {
		return err
	}
	return e.writeRegionHistory(rp, now, exec)
}

// writeRegionEntities creates, updates, revives and retires the region's
// entities.
func (e *Engine) writeRegionEntities(rp *regionPlan, now time.Time, exec execFunc) error {
	r, c := rp.r, rp.c
	// Kept entities are live: found by the created_seq they have now
	// (unique among live entities; kSeqs), without reading the ids, and
	// updated before any other row of the region's can take their
	// created_seq (a revived or new entity). Revived ones are tombstones,
	// found by id. At 10M events, 114 entities: 44 ms by id.
	var nIDs, nSeqs, nCounts, nAts, nComps, uIDs, uSeqs, uCounts, uAts, uComps plainList
	var kSeqs, kNew, kCounts, kAts, kComps plainList
	var kNarrow, gNarrow []int64
	for i, cl := range c.clusters {
		comp := ""
		if cl.cut {
			comp = rp.ids[cl.component]
		}
		first := r.events[cl.first]
		switch {
		case rp.kept[i] >= 0:
			old := rp.old[rp.kept[i]].createdSeq
			kSeqs.addInt(old)
			kNarrow = append(kNarrow, old)
			kNew.addInt(cl.minSeq)
			kCounts.add(e.countsJSON(cl.counts))
			kAts.addInt(first.at)
			kComps.add(comp)
		case rp.revived[i]:
			uIDs.add(rp.ids[i])
			uSeqs.addInt(cl.minSeq)
			uCounts.add(e.countsJSON(cl.counts))
			uAts.addInt(first.at)
			uComps.add(comp)
		default:
			nIDs.add(rp.ids[i])
			nSeqs.addInt(cl.minSeq)
			nCounts.add(e.countsJSON(cl.counts))
			nAts.addInt(first.at)
			nComps.add(comp)
		}
	}
	var gIDs, gInto plainList
	for _, g := range rp.gone {
		gIDs.add(rp.old[g.old].id)
		gInto.add(rp.ids[g.into])
		gNarrow = append(gNarrow, rp.old[g.old].createdSeq)
	}
	if err := exec("update entities", kSeqs.n, `UPDATE entities SET created_seq = t.created_seq, modified_at = CAST($3 AS TIMESTAMPTZ),
		    identifier_counts = t.counts, first_event_us = t.first_us, component = nullif(t.component, '')
		FROM (SELECT `+plainListSQL("$1", "BIGINT")+` AS old_seq, `+plainListSQL("$2", "BIGINT")+` AS created_seq, `+plainListSQL("$4", "TEXT")+` AS counts,
		             `+plainListSQL("$5", "BIGINT")+` AS first_us, `+plainListSQL("$6", "TEXT")+` AS component) t
		WHERE entities.created_seq = t.old_seq AND entities.merged_into IS NULL`+seqsIn("entities.created_seq", kNarrow),
		kSeqs.String(), kNew.String(), now, kCounts.String(), kAts.String(), kComps.String()); err != nil {
		return err
	}
	if err := exec("revive entities", uIDs.n, `UPDATE entities SET merged_into = NULL, created_seq = t.created_seq, modified_at = CAST($3 AS TIMESTAMPTZ),
		    identifier_counts = t.counts, first_event_us = t.first_us, component = nullif(t.component, '')
		FROM (SELECT `+plainListSQL("$1", "TEXT")+` AS id, `+plainListSQL("$2", "BIGINT")+` AS created_seq, `+plainListSQL("$4", "TEXT")+` AS counts,
		             `+plainListSQL("$5", "BIGINT")+` AS first_us, `+plainListSQL("$6", "TEXT")+` AS component) t
		WHERE entities.id = t.id`,
		uIDs.String(), uSeqs.String(), now, uCounts.String(), uAts.String(), uComps.String()); err != nil {
		return err
	}
	if err := exec("create entities", nIDs.n, `INSERT INTO entities (id, created_seq, created_at, modified_at, identifier_counts, first_event_us, component)
		SELECT `+plainListSQL("$1", "TEXT")+`, `+plainListSQL("$2", "BIGINT")+`, CAST($3 AS TIMESTAMPTZ), CAST($3 AS TIMESTAMPTZ), `+plainListSQL("$4", "TEXT")+`,
		       `+plainListSQL("$5", "BIGINT")+`, nullif(`+plainListSQL("$6", "TEXT")+`, '')`,
		nIDs.String(), nSeqs.String(), now, nCounts.String(), nAts.String(), nComps.String()); err != nil {
		return err
	}
	return exec("retire entities", gIDs.n, `UPDATE entities SET merged_into = t.target, modified_at = CAST($3 AS TIMESTAMPTZ), component = NULL
		FROM (SELECT `+plainListSQL("$1", "TEXT")+` AS id, `+plainListSQL("$2", "TEXT")+` AS target) t WHERE entities.id = t.id`+seqsIn("entities.created_seq", gNarrow),
		gIDs.String(), gInto.String(), now)
}

// writeRegionHistory records the region's merges and splits, and drops
// the plugin properties of the entities that split: they describe the
// whole, not its parts, until the next plugin run.
func (e *Engine) writeRegionHistory(rp *regionPlan, now time.Time, exec execFunc) error {
	if err := e.logMerges(rp.merges, now, exec); err != nil {
		return err
	}
	var sEnts, sParts, sCats, sSeqs, sCons plainList
	var sVals textList
	for _, s := range rp.splits {
		parts, err := json.Marshal(s.parts)
		if err != nil {
			return err
		}
		sEnts.add(s.entity)
		sParts.add(string(parts))
		if s.revealed {
			sCats.add(e.cats[s.key.cat])
			sVals.add(s.key.value)
			sSeqs.addInt(s.seq)
		} else {
			sCats.add("")
			sVals.add("")
			sSeqs.addInt(0)
		}
		sCons.add(s.constraint)
	}
	if err := exec("log splits", sEnts.n, `INSERT INTO stitch_splits (entity_id, parts, category, value, event_seq, constraint_id, split_at)
		SELECT `+plainListSQL("$1", "TEXT")+`, `+plainListSQL("$2", "TEXT")+`, nullif(`+plainListSQL("$3", "TEXT")+`, ''), nullif(`+textListSQL("$4")+`, ''),
		       nullif(`+plainListSQL("$5", "BIGINT")+`, 0), nullif(`+plainListSQL("$6", "TEXT")+`, ''), CAST($7 AS TIMESTAMPTZ)`,
		sEnts.String(), sParts.String(), sCats.String(), sVals.String(), sSeqs.String(), sCons.String(), now); err != nil {
		return err
	}
	return exec("drop the plugin properties of split entities", sEnts.n,
		`DELETE FROM plugin_property_values WHERE entity_id IN (SELECT `+plainListSQL("$1", "TEXT")+`)`, sEnts.String())
}
