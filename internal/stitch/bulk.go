package stitch

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// A rebuild does not commit pass by pass. Its passes resolve against the
// resident index as Run's do, and write into one transaction that stays
// open until the last (bulkState.tx), which then also moves the watermark
// and commits. Each pass stages its rows in temporary tables through the
// packed lists and moves them into the stitching tables with one INSERT
// ... SELECT each; what later passes change of earlier rows (an entity
// touched or merged away, the events and identifiers of an entity that
// merged) is not rewritten pass by pass but set once before the commit
// (finishBulk). The tables end up holding exactly what the passes would
// have written one by one (the same rows, the same clock readings;
// TestBulkRebuildEqualsPassByPass compares them), and the final
// re-clustering of the cut components (Rebuild) then reads and writes them
// as before.
//
// Why: committed pass by pass, a rebuild inserted each pass's rows from
// the packed lists straight into the tables (about 2 µs of CPU per entity
// row on DuckDB, against a fifth of that into a temporary table and a
// tenth from there into the table), committed every pass and moved the
// merged entities' rows every pass. Written this way, a 10M-event rebuild
// took 13 to 25% less CPU (BENCHMARKS.md, "a rebuild commits once"). The passes' writes
// still overlap the reading of the next batch, which bounds a rebuild now.
//
// What it holds, beyond the index, is small: 12 bytes per entity, and the
// merges, refused links and audit rows of the passes.
//
// A crash before the commit leaves the empty state that the rebuild's
// reset committed: a stitching pass from there gives the same partition,
// and the pipeline starts the rebuild again (the reset clears the rules
// it records as built).
//
// The merged entities' rows are moved by an UPDATE at the end, bounded by
// seq as a pass's are. Staged by entity slot instead and inserted once at
// the end with their survivors, the 10M event mappings and 3M identifiers
// added a serial 5.5 s to the end of a rebuild whose passes, written while
// the next batch is read, cost it no time.
type bulkState struct {
	tx     *store.Tx
	lo, hi int64       // the watermark before the first pass and after the last
	token  int64       // the pass_token the index carries, written at the end
	times  []time.Time // per pass, the clock reading its rows get
	// Per entity slot of the index (a rebuild's index holds only its own
	// entities): the pass that created it and the last that touched it,
	// and the entity it merged into (the table's merged_into), or -1.
	created, modified, mergedInto []int32
	merges                        []passMerge
	refused                       []bulkRefused
	audit                         []map[auditKey]*auditRow // per pass
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

// startBulk begins the transaction of a rebuild's passes, with its
// staging tables.
func (e *Engine) startBulk(ctx context.Context) (*bulkState, error) {
	tx, err := e.db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	for _, q := range bulkStagingDDL {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			tx.Rollback() //nolint:errcheck // the error is the DDL's
			return nil, fmt.Errorf("stage the rebuild: %w", err)
		}
	}
	return &bulkState{tx: tx, token: newToken()}, nil
}

// dropBulk abandons the rebuild's transaction, if any: nothing of its
// passes is written.
func (e *Engine) dropBulk() {
	if e.bulk != nil {
		e.bulk.tx.Rollback() //nolint:errcheck // nothing to do about it
		e.bulk = nil
	}
}

// bulkStagingDDL are the temporary tables a rebuild's passes stage their
// rows in, one pass's at a time.
var bulkStagingDDL = []string{
	`CREATE TEMP TABLE stitch_bulk_entities (id TEXT NOT NULL, created_seq BIGINT NOT NULL, counts TEXT NOT NULL, first_us BIGINT NOT NULL)`,
	`CREATE TEMP TABLE stitch_bulk_events (seq BIGINT NOT NULL, entity_id TEXT NOT NULL)`,
	`CREATE TEMP TABLE stitch_bulk_identifiers (category TEXT NOT NULL, value TEXT NOT NULL, entity_id TEXT NOT NULL, first_seq BIGINT NOT NULL, key_hash BIGINT NOT NULL)`,
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

// bulkPass applies the plan of batch b to the index and writes what the
// pass writes in the rebuild's transaction; now is the pass's clock
// reading.
func (e *Engine) bulkPass(ctx context.Context, s *bulkState, b *batch, p *plan, now time.Time) error {
	x := e.idx
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
	for _, m := range p.merges {
		s.merges = append(s.merges, passMerge{m, pass})
	}
	for _, l := range p.refused {
		s.refused = append(s.refused, bulkRefused{slot: slotOf(p.eventRef[l.ev]), seq: b.seqs[l.ev], key: b.keys[l.key]})
	}
	s.audit = append(s.audit, b.audit)
	return e.bulkWrite(ctx, s, b, p, now)
}

// bulkWrite writes the pass's new entities, identifiers and event
// mappings, each to its entity as the pass left it: one statement a table.
//
// The statements are a pass's whole, not chunks under DuckDB's row group
// (122,880 rows), which branch s20-stitch tried so that every inserted row
// went to the database file as inserted, none through the write-ahead
// log: DuckDB then compressed the row groups on the pass's own thread, and
// the passes, which bound a rebuild, took 5 s longer at 10M events
// (BENCHMARKS.md, seventh session). A statement of 250,000 mappings is
// inserted in parallel, its row groups compressed on DuckDB's worker
// threads too, and the passes take as long as when they also made their
// later changes in the transaction. The commit still copies the
// mappings into the log (about 5 s at 10M events, loaded), but no
// longer rewrites them in the final re-clustering's checkpoint (see
// bulkFixups and moveByCopy).
func (e *Engine) bulkWrite(ctx context.Context, s *bulkState, b *batch, p *plan, now time.Time) error {
	exec := txExec(ctx, s.tx, b.lo, b.hi)
	if err := e.bulkEntities(exec, p.newEntities, now); err != nil {
		return err
	}
	if err := e.bulkIdentifiers(exec, p.identifiers); err != nil {
		return err
	}
	return e.bulkEvents(exec, b.seqs, p.eventEntity, b.lo, b.hi)
}

// bulkEntities stages new entities and inserts them.
func (e *Engine) bulkEntities(exec execFunc, ents []newEntity, now time.Time) error {
	ids, seqs, counts, ats := e.newEntityLists(ents)
	if err := exec("stage entities", ids.n, `INSERT INTO stitch_bulk_entities (id, created_seq, counts, first_us)
		SELECT `+plainListSQL("$1", "TEXT")+`, `+plainListSQL("$2", "BIGINT")+`, `+plainListSQL("$3", "TEXT")+`, `+plainListSQL("$4", "BIGINT"),
		ids.String(), seqs.String(), counts.String(), ats.String()); err != nil {
		return err
	}
	if err := exec("create entities", ids.n, `INSERT INTO entities (id, created_seq, created_at, modified_at, identifier_counts, first_event_us)
		SELECT id, created_seq, CAST($1 AS TIMESTAMPTZ), CAST($1 AS TIMESTAMPTZ), counts, first_us FROM stitch_bulk_entities`, now); err != nil {
		return err
	}
	return exec("clear the staged entities", ids.n, `DELETE FROM stitch_bulk_entities`)
}

// bulkIdentifiers stages new identifiers and inserts them.
func (e *Engine) bulkIdentifiers(exec execFunc, ids []newIdentifier) error {
	var cats, kEnts, kSeqs, hashes plainList
	for _, id := range ids {
		cats.add(e.cats[id.key.cat])
		kEnts.add(id.entity)
		kSeqs.addInt(id.firstSeq)
		hashes.addInt(id.hash)
	}
	vals, valsSQL := packTexts(len(ids), func(i int) string { return ids[i].key.value })
	if err := exec("stage identifiers", cats.n, `INSERT INTO stitch_bulk_identifiers (category, value, entity_id, first_seq, key_hash)
		SELECT `+plainListSQL("$1", "TEXT")+`, `+valsSQL("$2")+`, `+plainListSQL("$3", "TEXT")+`, `+plainListSQL("$4", "BIGINT")+`, `+plainListSQL("$5", "BIGINT"),
		cats.String(), vals, kEnts.String(), kSeqs.String(), hashes.String()); err != nil {
		return err
	}
	if err := exec("add identifiers", cats.n, e.insertKeyed("identifiers", "category, value, entity_id, first_seq, key_hash",
		`SELECT category, value, entity_id, first_seq, key_hash FROM stitch_bulk_identifiers`)); err != nil {
		return err
	}
	return exec("clear the staged identifiers", cats.n, `DELETE FROM stitch_bulk_identifiers`)
}

// bulkEvents maps events (seqs, each to its entity in ents), whose seqs
// are in lo+1..hi.
func (e *Engine) bulkEvents(exec execFunc, seqs []int64, ents []string, lo, hi int64) error {
	var evSeqs, evEnts plainList
	for i, seq := range seqs {
		evSeqs.addInt(seq)
		evEnts.add(ents[i])
	}
	if err := exec("stage events", evSeqs.n, `INSERT INTO stitch_bulk_events (seq, entity_id) SELECT `+plainListSQL("$1", "BIGINT")+`, `+plainListSQL("$2", "TEXT"),
		evSeqs.String(), evEnts.String()); err != nil {
		return err
	}
	if err := exec("map events", evSeqs.n, e.mapEventsSQL(`SELECT seq AS event_seq, entity_id FROM stitch_bulk_events`, "$1", "$2"), lo, hi); err != nil {
		return err
	}
	return exec("clear the staged events", evSeqs.n, `DELETE FROM stitch_bulk_events`)
}

// finishBulk ends the rebuild's transaction, if any: it records the
// merges, refused links and audit rows and commits with the watermark
// moved from the reset's to the last pass's; then, in a transaction of
// their own (bulkFixups), it gives the entities that later passes touched
// or merged their last state and moves the events and identifiers of the
// merged to their survivors.
func (e *Engine) finishBulk(ctx context.Context) error {
	s, x := e.bulk, e.idx
	if s == nil {
		return nil
	}
	defer e.dropBulk()
	if len(s.times) == 0 {
		return nil
	}
	if trace {
		defer traceSince(time.Now(), "finish the rebuild's passes", len(s.created))
	}
	tx := s.tx
	exec := txExec(ctx, tx, s.lo, s.hi)
	if err := e.bulkHistory(s, x, exec); err != nil {
		return err
	}
	for _, t := range []string{"stitch_bulk_entities", "stitch_bulk_events", "stitch_bulk_identifiers"} {
		if err := exec("drop the rebuild's staging", 1, "DROP TABLE "+t); err != nil {
			return err
		}
	}
	if err := moveWatermark(ctx, tx, s.lo, s.hi, s.times[len(s.times)-1], s.token); err != nil {
		return err
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		return err
	}
	if trace {
		traceSince(start, "commit the rebuild's passes", len(s.times))
	}
	return e.bulkFixups(ctx, s, x)
}

// bulkFixups writes, in a transaction after the passes' commit, what later
// passes changed of the rows earlier passes inserted: the entities they
// touched or merged, and the events and identifiers of the merged, moved
// to their survivors.
//
// Why after: DuckDB writes the rows a transaction inserts into the
// database file as they come (its optimistic writes) and
// its commit then only links them, unless the transaction also updates or
// deletes any of the rows it inserted into that table: then the commit
// writes every row it inserted into the table to the write-ahead log
// instead, and a checkpoint writes them again. Updated in the passes'
// transaction, a 2M-event rebuild's log grew by 216 MiB (23 to 239 MiB),
// and the checkpoint in the commit of the final re-clustering took 1.1 to
// 1.3 s of CPU more. At 10M events the end of the rebuild (the commit,
// these changes and the final re-clustering's commit) took 14 to 59 s
// against 8 s this way (loaded machine; BENCHMARKS.md, eighth session).
//
// A crash between the two commits leaves a partition that is neither the
// old nor the new one, as one before the final re-clustering does: the
// reset cleared the rules recorded as built, and the pipeline rebuilds
// (pipeline.Stitch).
func (e *Engine) bulkFixups(ctx context.Context, s *bulkState, x *index) error {
	var ids, seqs, modified, counts, into plainList
	var losers, roots plainList
	minSeq := int64(math.MaxInt64) // the smallest created_seq of a loser
	for slot := range s.created {
		if s.modified[slot] == s.created[slot] {
			continue // as its pass wrote it
		}
		ent := &x.ents[slot]
		ids.add(hex.EncodeToString(ent.id[:]))
		seqs.addInt(ent.createdSeq)
		modified.add(s.times[s.modified[slot]].UTC().Format("2006-01-02 15:04:05.999999+00"))
		if m := s.mergedInto[slot]; m >= 0 {
			counts.add("{}") // as a pass writes a loser's
			into.add(hex.EncodeToString(x.ents[m].id[:]))
			losers.add(hex.EncodeToString(ent.id[:]))
			roots.add(hex.EncodeToString(x.ents[x.root(int32(slot))].id[:]))
			minSeq = min(minSeq, ent.createdSeq)
		} else {
			counts.add(e.countsJSON(x.counts[slot*x.cats : (slot+1)*x.cats]))
			into.add("-")
		}
	}
	if ids.n == 0 {
		return nil
	}
	tx, err := e.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// The watermark stays where the passes left it: a pass of another
	// process that moved it since fails this.
	if err := moveWatermark(ctx, tx, s.hi, s.hi, s.times[len(s.times)-1], s.token); err != nil {
		return err
	}
	exec := txExec(ctx, tx, s.lo, s.hi)
	if err := exec("update entities", ids.n, `UPDATE entities SET created_seq = t.created_seq, modified_at = CAST(t.modified_at AS TIMESTAMPTZ),
		    identifier_counts = t.counts, merged_into = nullif(t.merged_into, '-')
		FROM (SELECT `+plainListSQL("$1", "TEXT")+` AS id, `+plainListSQL("$2", "BIGINT")+` AS created_seq, `+plainListSQL("$3", "TEXT")+` AS modified_at,
		             `+plainListSQL("$4", "TEXT")+` AS counts, `+plainListSQL("$5", "TEXT")+` AS merged_into) t
		WHERE entities.id = t.id`, ids.String(), seqs.String(), modified.String(), counts.String(), into.String()); err != nil {
		return err
	}
	// Copied, deleted and inserted again (moveByCopy): the losers' rows
	// are spread over the tables. As a pass moves them (write), an
	// entity's rows all have seqs from its created_seq on, a bound DuckDB
	// checks against its zone maps.
	mergeList := `(SELECT ` + plainListSQL("$1", "TEXT") + ` AS loser, ` + plainListSQL("$2", "TEXT") + ` AS survivor) m`
	args := []any{losers.String(), roots.String(), minSeq}
	for _, t := range []struct{ table, cols, seq, copied string }{
		{"entity_events", "event_seq, entity_id, source_id, type, event_time", "event_seq", "t.event_seq, m.survivor, t.source_id, t.type, t.event_time"},
		{"identifiers", "category, value, entity_id, first_seq, key_hash", "first_seq", "t.category, t.value, m.survivor, t.first_seq, t.key_hash"},
	} {
		fill := statement{`SELECT ` + t.copied + ` FROM ` + t.table + ` t JOIN ` + mergeList + ` ON t.entity_id = m.loser
			WHERE ` + e.byKeys(t.table, "t.entity_key") + `t.` + t.seq + ` >= $3`, args}
		del := statement{`DELETE FROM ` + t.table + ` WHERE ` + e.byKeys(t.table, "entity_key") + `entity_id IN (SELECT m.loser FROM ` + mergeList + `)
			AND ` + t.seq + ` >= $3`, args}
		if err := e.moveByCopy(exec, "move merged "+t.table, losers.n, t.table, t.cols, fill, del); err != nil {
			return err
		}
	}
	if trace {
		defer traceSince(time.Now(), "commit the rebuild's last states", ids.n)
	}
	return tx.Commit()
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
