package stitch

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"time"
)

// A rebuild does not write pass by pass. Its passes resolve against the
// resident index as Run's do, and bulkState keeps what they would have
// written; when the passes end, flushBulk writes every table once, in one
// transaction that also moves the watermark. The tables end up holding
// exactly what the passes would have written one by one (the same rows,
// the same clock readings; TestBulkRebuildEqualsPassByPass compares them),
// and the final re-clustering of the cut components (Rebuild) then reads
// and writes them as before.
//
// Why: written pass by pass, a 10M-event rebuild spent three quarters of
// its passes in their inserts and commits (inserting 200,000 entities took
// 1.3 s a pass on DuckDB, the 10M event mappings 4.8 s in all), while one
// INSERT ... SELECT of 2M entities from a temporary table takes 0.4 s and
// the moves of merged rows (UPDATEs of entity_events and identifiers) are
// not needed at all: the final entity of an event or identifier is its
// entity's survivor in the index.
//
// What it holds, beyond the index, is small: 4 bytes per event (its entity
// slot; the seqs of a batch without gaps are its bounds), 16 per new
// identifier and 12 per entity, about 70 MB at 10M demo events.
//
// A crash before the flush's commit leaves the empty state that the
// rebuild's reset committed: a stitching pass from there gives the same
// partition. (A crash between the flush and the end of the final
// re-clustering leaves cut components whole, as a crash after the last
// pass did when passes were written one by one.)
type bulkState struct {
	lo, hi int64       // the watermark before the first pass and after the last
	token  int64       // the pass_token the index carries, written by the flush
	times  []time.Time // per pass, the clock reading its rows get
	// Per entity slot of the index (a rebuild's index holds only its own
	// entities): the pass that created it and the last that touched it,
	// and the entity it merged into (the table's merged_into), or -1.
	created, modified, mergedInto []int32
	// The identifiers the passes added: where the key is in the index's
	// arena, its entity when added (a merge moves it to the survivor:
	// index.root), and its first_seq.
	keyRefs  []uint32
	keySlots []int32
	keySeqs  []int64
	// The events, in seq order: per batch, its seqs (nil when they are
	// lo+1..lo+n) and each event's entity slot in evSlots.
	runs    []seqRun
	evSlots []int32
	merges  []passMerge
	refused []bulkRefused
	audit   []map[auditKey]*auditRow // per pass
}

type seqRun struct {
	lo   int64
	n    int
	seqs []int64 // nil: lo+1..lo+n
}

type passMerge struct {
	merge
	pass int32
}

type bulkRefused struct {
	slot int32
	seq  int64
	key  identKey
}

// bulkOK reports whether the index can take the plan's identifiers
// without passing its 4 GiB arena (index.put): a pass that would
// is written as before, and the index turned off.
func bulkOK(x *index, p *plan) bool {
	if p.region != nil {
		return false
	}
	n := len(x.arena)
	for _, id := range p.identifiers {
		n += 2*10 + len(id.key.value)
	}
	return n < math.MaxUint32
}

// pass applies the plan of batch b to the index and keeps what a write
// would have written; now is the pass's clock reading.
func (s *bulkState) pass(x *index, b *batch, p *plan, now time.Time) error {
	base := int32(len(x.ents))
	if int(base) != len(s.created) {
		return fmt.Errorf("rebuild: the index holds %d entities, the rebuild %d", base, len(s.created))
	}
	if err := x.apply(b, p, s.token); err != nil {
		return err
	}
	pass := int32(len(s.times))
	s.times = append(s.times, now)
	s.hi = b.hi
	slotOf := func(ref int32) int32 {
		if ref >= 0 {
			return p.existing[ref].slot
		}
		return base - ref - 1
	}
	for range p.newEntities {
		s.created = append(s.created, pass)
		s.modified = append(s.modified, pass)
		s.mergedInto = append(s.mergedInto, -1)
	}
	for _, t := range p.touched {
		slot := p.existing[t.ix].slot
		s.modified[slot] = pass
		if t.mergedInto != "" {
			s.mergedInto[slot] = slotOf(t.survivor)
		}
	}
	for _, id := range p.identifiers {
		ref, ok := x.refOf(id.key)
		if !ok {
			return fmt.Errorf("rebuild: identifier %d:%q is not in the index", id.key.cat, id.key.value)
		}
		s.keyRefs = append(s.keyRefs, ref)
		s.keySlots = append(s.keySlots, slotOf(id.ref))
		s.keySeqs = append(s.keySeqs, id.firstSeq)
	}
	run := seqRun{lo: b.lo, n: len(b.seqs)}
	if !b.dense {
		run.seqs = b.seqs
	}
	s.runs = append(s.runs, run)
	for ev := range b.seqs {
		s.evSlots = append(s.evSlots, slotOf(p.eventRef[ev]))
	}
	for _, m := range p.merges {
		s.merges = append(s.merges, passMerge{m, pass})
	}
	for _, l := range p.refused {
		s.refused = append(s.refused, bulkRefused{slot: slotOf(p.eventRef[l.ev]), seq: b.seqs[l.ev], key: b.keys[l.key]})
	}
	s.audit = append(s.audit, b.audit)
	return nil
}

// bulkChunk is how many rows one staging statement takes: the packed lists
// of a chunk are tens of MB.
const bulkChunk = 1 << 20

// flushBulk writes the rebuild's state kept in e.bulk, if any, in one
// transaction that moves the watermark from the reset's to the last
// pass's.
func (e *Engine) flushBulk(ctx context.Context) error {
	s, x := e.bulk, e.idx
	e.bulk = nil
	if s == nil || len(s.times) == 0 {
		return nil
	}
	if trace {
		defer traceSince(time.Now(), "bulk write of the rebuild", len(s.evSlots))
	}
	tx, err := e.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	last := s.times[len(s.times)-1]
	res, err := tx.ExecContext(ctx, tx.Query("StitchWatermarkMove"), s.hi, s.lo, last, s.token)
	if err != nil {
		return fmt.Errorf("move watermark: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrConcurrentPass
	}
	exec := txExec(ctx, tx, s.lo, s.hi)
	for _, q := range bulkStagingDDL {
		if err := exec("stage the rebuild", 1, q); err != nil {
			return err
		}
	}
	if err := e.stageBulk(s, x, exec); err != nil {
		return err
	}
	for _, st := range bulkInserts {
		if err := exec(st.what, 1, st.query); err != nil {
			return err
		}
	}
	if err := e.bulkHistory(s, x, exec); err != nil {
		return err
	}
	for _, t := range []string{"stitch_bulk_passes", "stitch_bulk_entities", "stitch_bulk_events", "stitch_bulk_identifiers"} {
		if err := exec("drop the rebuild's staging", 1, "DROP TABLE "+t); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// bulkStagingDDL are the temporary tables a rebuild's state is staged in,
// entities by their slot in the index.
var bulkStagingDDL = []string{
	`CREATE TEMP TABLE stitch_bulk_passes (pass_ix INTEGER NOT NULL, pass_at TIMESTAMPTZ NOT NULL)`,
	`CREATE TEMP TABLE stitch_bulk_entities (slot INTEGER NOT NULL, id TEXT NOT NULL, created_seq BIGINT NOT NULL,
		created_pass INTEGER NOT NULL, modified_pass INTEGER NOT NULL, counts TEXT NOT NULL, first_us BIGINT NOT NULL, merged_into INTEGER NOT NULL)`,
	`CREATE TEMP TABLE stitch_bulk_events (seq BIGINT NOT NULL, slot INTEGER NOT NULL)`,
	`CREATE TEMP TABLE stitch_bulk_identifiers (category TEXT NOT NULL, value TEXT NOT NULL, slot INTEGER NOT NULL, first_seq BIGINT NOT NULL, key_hash BIGINT NOT NULL)`,
}

// bulkInserts write the staged state into the tables, as the passes would
// have: entities in the order they were created, event mappings by seq.
var bulkInserts = []struct{ what, query string }{
	{"create entities", `INSERT INTO entities (id, created_seq, created_at, modified_at, identifier_counts, first_event_us, merged_into)
		SELECT s.id, s.created_seq, c.pass_at, m.pass_at, s.counts, s.first_us, t.id
		FROM stitch_bulk_entities s JOIN stitch_bulk_passes c ON c.pass_ix = s.created_pass JOIN stitch_bulk_passes m ON m.pass_ix = s.modified_pass
		LEFT JOIN stitch_bulk_entities t ON t.slot = s.merged_into
		ORDER BY s.slot`},
	{"add identifiers", `INSERT INTO identifiers (category, value, entity_id, first_seq, key_hash)
		SELECT i.category, i.value, s.id, i.first_seq, i.key_hash FROM stitch_bulk_identifiers i JOIN stitch_bulk_entities s ON s.slot = i.slot`},
	{"map events", `INSERT INTO entity_events (event_seq, entity_id)
		SELECT v.seq, s.id FROM stitch_bulk_events v JOIN stitch_bulk_entities s ON s.slot = v.slot ORDER BY v.seq`},
}

// stageBulk fills the staging tables, a chunk of rows a statement.
func (e *Engine) stageBulk(s *bulkState, x *index, exec execFunc) error {
	var at plainList
	var passes plainList
	for i, t := range s.times {
		passes.addInt(int64(i))
		at.add(t.UTC().Format("2006-01-02 15:04:05.999999+00"))
	}
	if err := exec("stage the rebuild: passes", passes.n, `INSERT INTO stitch_bulk_passes (pass_ix, pass_at)
		SELECT `+plainListSQL("$1", "INTEGER")+`, CAST(`+plainListSQL("$2", "TEXT")+` AS TIMESTAMPTZ)`, passes.String(), at.String()); err != nil {
		return err
	}
	for lo := 0; lo < len(s.created); lo += bulkChunk {
		var slots, ids, seqs, created, modified, counts, firsts, into plainList
		for slot := lo; slot < min(lo+bulkChunk, len(s.created)); slot++ {
			ent := &x.ents[slot]
			slots.addInt(int64(slot))
			ids.add(hex.EncodeToString(ent.id[:]))
			seqs.addInt(ent.createdSeq)
			created.addInt(int64(s.created[slot]))
			modified.addInt(int64(s.modified[slot]))
			if s.mergedInto[slot] >= 0 {
				counts.add("{}") // as a pass writes a loser's
			} else {
				counts.add(e.countsJSON(x.counts[slot*x.cats : (slot+1)*x.cats]))
			}
			firsts.addInt(ent.firstAt)
			into.addInt(int64(s.mergedInto[slot]))
		}
		if err := exec("stage the rebuild: entities", slots.n, `INSERT INTO stitch_bulk_entities (slot, id, created_seq, created_pass, modified_pass, counts, first_us, merged_into)
			SELECT `+plainListSQL("$1", "INTEGER")+`, `+plainListSQL("$2", "TEXT")+`, `+plainListSQL("$3", "BIGINT")+`, `+plainListSQL("$4", "INTEGER")+`,
			       `+plainListSQL("$5", "INTEGER")+`, `+plainListSQL("$6", "TEXT")+`, `+plainListSQL("$7", "BIGINT")+`, `+plainListSQL("$8", "INTEGER"),
			slots.String(), ids.String(), seqs.String(), created.String(), modified.String(), counts.String(), firsts.String(), into.String()); err != nil {
			return err
		}
	}
	for lo := 0; lo < len(s.keyRefs); lo += bulkChunk {
		var cats, slots, seqs, hashes plainList
		var vals textList
		for i := lo; i < min(lo+bulkChunk, len(s.keyRefs)); i++ {
			k := x.keyOf(s.keyRefs[i])
			cats.add(e.cats[k.cat])
			vals.add(k.value)
			slots.addInt(int64(x.root(s.keySlots[i])))
			seqs.addInt(s.keySeqs[i])
			hashes.addInt(e.keyHash(k))
		}
		if err := exec("stage the rebuild: identifiers", cats.n, `INSERT INTO stitch_bulk_identifiers (category, value, slot, first_seq, key_hash)
			SELECT `+plainListSQL("$1", "TEXT")+`, `+textListSQL("$2")+`, `+plainListSQL("$3", "INTEGER")+`, `+plainListSQL("$4", "BIGINT")+`, `+plainListSQL("$5", "BIGINT"),
			cats.String(), vals.String(), slots.String(), seqs.String(), hashes.String()); err != nil {
			return err
		}
	}
	var seqs, slots plainList
	flush := func() error {
		err := exec("stage the rebuild: events", seqs.n, `INSERT INTO stitch_bulk_events (seq, slot)
			SELECT `+plainListSQL("$1", "BIGINT")+`, `+plainListSQL("$2", "INTEGER"), seqs.String(), slots.String())
		seqs, slots = plainList{}, plainList{}
		return err
	}
	ev := 0
	for _, r := range s.runs {
		for i := range r.n {
			seq := r.lo + 1 + int64(i)
			if r.seqs != nil {
				seq = r.seqs[i]
			}
			seqs.addInt(seq)
			slots.addInt(int64(x.root(s.evSlots[ev])))
			ev++
			if seqs.n == bulkChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// bulkHistory writes the rebuild's merges, refused links and audit rows,
// each pass's with its clock reading.
func (e *Engine) bulkHistory(s *bulkState, x *index, exec execFunc) error {
	for i := 0; i < len(s.merges); {
		j := i
		var ms []merge
		for ; j < len(s.merges) && s.merges[j].pass == s.merges[i].pass; j++ {
			ms = append(ms, s.merges[j].merge)
		}
		if err := e.logMerges(ms, s.times[s.merges[i].pass], exec); err != nil {
			return err
		}
		i = j
	}
	rows := make([]refusedRow, len(s.refused))
	for i, r := range s.refused {
		slot := x.root(r.slot)
		rows[i] = refusedRow{entity: hex.EncodeToString(x.ents[slot].id[:]), seq: r.seq, key: r.key}
	}
	if err := e.logRefused(rows, exec); err != nil {
		return err
	}
	for pass, audit := range s.audit {
		if err := e.logAudit(audit, s.times[pass], exec); err != nil {
			return err
		}
	}
	return nil
}
