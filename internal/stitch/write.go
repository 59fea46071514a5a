package stitch

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// write applies a plan in one transaction that also moves the watermark
// (and sets pass_token to token), if no other pass moved it first.
func (e *Engine) write(ctx context.Context, b *batch, p *plan, token int64) error {
	now := e.now().UTC().Truncate(time.Microsecond)
	tx, err := e.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// The watermark moves first: a pass that another one overtook fails
	// before writing anything, and on PostgreSQL the row lock makes a
	// concurrent pass wait for this one, then find the watermark moved.
	if err := moveWatermark(ctx, tx, b.lo, b.hi, now, token); err != nil {
		return err
	}
	exec := txExec(ctx, tx, b.lo, b.hi)
	ids, seqs, counts, ats := e.newEntityLists(p.newEntities)
	err = exec("create entities", len(p.newEntities), `INSERT INTO entities (id, created_seq, created_at, modified_at, identifier_counts, first_event_us)
		SELECT `+plainListSQL("$1", "TEXT")+`, `+plainListSQL("$2", "BIGINT")+`, CAST($3 AS TIMESTAMPTZ), CAST($3 AS TIMESTAMPTZ), `+plainListSQL("$4", "TEXT")+`,
		       `+plainListSQL("$5", "BIGINT"),
		ids.String(), seqs.String(), now, counts.String(), ats.String())
	if err != nil {
		return err
	}
	var losers, survivors plainList
	for _, m := range p.merges {
		losers.add(m.loser)
		survivors.add(m.survivor)
	}
	mergeList := `(SELECT ` + plainListSQL("$1", "TEXT") + ` AS loser, ` + plainListSQL("$2", "TEXT") + ` AS survivor) m`
	// Most entities a pass touches only got events (returning customers
	// with known identifiers): their modified_at moves, nothing else.
	// Those are found by created_seq alone, unique among live entities
	// (a tombstone may share it), an integer column DuckDB scans far
	// faster than the ids; setting one column costs it a quarter of
	// setting four (4,349 entities at 10M events: 37 against 150 ms).
	var bumped, touched, touchedIDs, touchedCounts, mergedInto, newSeqs plainList
	var narrow []int64
	for _, t := range p.touched {
		if x := &p.existing[t.ix]; t.mergedInto == "" && t.newSeq == t.createdSeq && !x.staleCounts && slices.Equal(t.counts, x.counts) {
			bumped.addInt(t.createdSeq)
			continue
		}
		touched.addInt(t.createdSeq)
		narrow = append(narrow, t.createdSeq)
		newSeqs.addInt(t.newSeq)
		touchedIDs.add(t.id)
		touchedCounts.add(e.countsJSON(t.counts))
		mergedInto.add(t.mergedInto)
	}
	if err := exec("update entities (events only)", bumped.n, `UPDATE entities SET modified_at = CAST($2 AS TIMESTAMPTZ)
		WHERE created_seq IN (SELECT `+plainListSQL("$1", "BIGINT")+`) AND merged_into IS NULL`, bumped.String(), now); err != nil {
		return err
	}
	// The others, merged and modified, in one statement: an empty
	// merged_into element leaves the column as it is. The created_seq
	// narrows, the id decides.
	if err := exec("update entities", touched.n, `UPDATE entities SET modified_at = CAST($4 AS TIMESTAMPTZ), identifier_counts = t.counts,
		    merged_into = coalesce(nullif(t.merged_into, ''), entities.merged_into), created_seq = t.new_seq
		FROM (SELECT `+plainListSQL("$1", "BIGINT")+` AS created_seq, `+plainListSQL("$2", "TEXT")+` AS counts, `+plainListSQL("$3", "TEXT")+` AS merged_into,
		             `+plainListSQL("$5", "TEXT")+` AS id, `+plainListSQL("$6", "BIGINT")+` AS new_seq) t
		WHERE entities.created_seq = t.created_seq AND entities.id = t.id AND entities.merged_into IS NULL`+seqsIn("entities.created_seq", narrow),
		touched.String(), touchedCounts.String(), mergedInto.String(), now, touchedIDs.String(), newSeqs.String()); err != nil {
		return err
	}
	{
		var cats, ents, seqs, hashes plainList
		var vals textList
		for _, id := range p.identifiers {
			cats.add(e.cats[id.key.cat])
			vals.add(id.key.value)
			ents.add(id.entity)
			seqs.addInt(id.firstSeq)
			hashes.addInt(id.hash)
		}
		err := exec("add identifiers", len(p.identifiers), e.insertKeyed("identifiers", "category, value, entity_id, first_seq, key_hash",
			`SELECT `+plainListSQL("$1", "TEXT")+` AS category, `+textListSQL("$2")+` AS value, `+plainListSQL("$3", "TEXT")+` AS entity_id, `+
				plainListSQL("$4", "BIGINT")+` AS first_seq, `+plainListSQL("$5", "BIGINT")+` AS key_hash`),
			cats.String(), vals.String(), ents.String(), seqs.String(), hashes.String())
		if err != nil {
			return err
		}
	}
	{
		var seqs, ents plainList
		for i, seq := range b.seqs {
			if p.eventEntity[i] != "" { // the region's are written with it
				seqs.addInt(seq)
				ents.add(p.eventEntity[i])
			}
		}
		err := exec("map events", seqs.n, e.mapEventsSQL(`SELECT `+plainListSQL("$1", "BIGINT")+` AS event_seq, `+plainListSQL("$2", "TEXT")+` AS entity_id`, "$3", "$4"),
			seqs.String(), ents.String(), b.lo, b.hi)
		if err != nil {
			return err
		}
	}
	if err := e.logMerges(p.merges, now, exec); err != nil {
		return err
	}
	if err := e.writeRefused(b, p, exec); err != nil {
		return err
	}
	if err := e.logAudit(b.audit, now, exec); err != nil {
		return err
	}
	// The losers' events and identifiers go to their survivors. An
	// entity's events and identifiers all have seqs from its created_seq
	// on: a bound DuckDB checks against its zone maps, skipping older rows.
	minSeq := int64(0)
	for i, m := range p.merges {
		if i == 0 || m.loserSeq < minSeq {
			minSeq = m.loserSeq
		}
	}
	for _, t := range []struct{ table, seq string }{{"entity_events", "event_seq"}, {"identifiers", "first_seq"}, {"stitch_refused", "event_seq"}} {
		if err := exec("move merged "+t.table, len(p.merges), e.moveMergedSQL(t.table, t.seq, mergeList), losers.String(), survivors.String(), minSeq); err != nil {
			return err
		}
	}
	if p.region != nil {
		if err := e.writeRegion(p.region, now, exec); err != nil {
			return err
		}
	}
	if trace {
		defer traceSince(time.Now(), "commit", len(b.seqs))
	}
	return tx.Commit()
}

// moveWatermark moves the watermark from lo to hi in tx, setting the
// pass_token, or fails with ErrConcurrentPass if it is not at lo.
func moveWatermark(ctx context.Context, tx *store.Tx, lo, hi int64, at time.Time, token int64) error {
	res, err := tx.ExecContext(ctx, tx.Query("StitchWatermarkMove"), hi, lo, at, token)
	if err != nil {
		return fmt.Errorf("move watermark: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrConcurrentPass
	}
	return nil
}

// seqsInMax is the most values seqsIn writes into a statement: DuckDB
// compares each row with each constant, and at 10M events the list paid
// off for 5 entities (50 to 11 ms) and no longer for 114.
const seqsInMax = 100

// seqsIn is a test that col is one of seqs, as a list of constants, to
// AND to a statement that finds rows by a join on col (of a table
// stored about in the order of col, entities by created_seq), or "" for
// more than seqsInMax. DuckDB checks constants in the scan, against its
// zone maps and then row by row, and reads the table's other columns
// (the ids) only where some row passed; a join reads them for every row.
func seqsIn(col string, seqs []int64) string {
	if len(seqs) == 0 || len(seqs) > seqsInMax {
		return ""
	}
	b := []byte(" AND " + col + " IN (")
	for i, s := range seqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, s, 10)
	}
	return string(append(b, ')'))
}

// insertKeyed is the insert of the rows of sel, a query of the columns
// cols of table, into table; on a backend with entity keys
// (store.Capabilities.EntityKey) with the key of each row's entity_id,
// which sel names so, as every writer of entity_events and identifiers
// must give it: readers narrow by it first.
func (e *Engine) insertKeyed(table, cols, sel string) string {
	if !e.keyed(table) {
		return "INSERT INTO " + table + " (" + cols + ") " + sel
	}
	return "INSERT INTO " + table + " (" + cols + ", entity_key) SELECT " + cols + ", " + e.db.Capabilities().EntityKey() + " FROM (" + sel + ") keyed"
}

// mapEventsSQL is the insert into entity_events of the mappings sel, a
// query of event_seq and entity_id, each with its event's source_id, type
// and event_time, which every writer must give (the segments' event
// conditions read them there rather than join the log). They are taken
// from the log in the same statement, the log's rows bounded by seq to lo
// < seq <= hi (SQL expressions, the range of the mapped seqs): DuckDB
// checks the bound against its zone maps and reads only the batch's part
// of the log (a rebuild's 10M mappings: see BENCHMARKS.md).
func (e *Engine) mapEventsSQL(sel, lo, hi string) string {
	return e.insertKeyed("entity_events", "event_seq, entity_id, source_id, type, event_time",
		`SELECT m.event_seq, m.entity_id, ev.source_id, ev.type, ev.event_time FROM (`+sel+`) m
		JOIN event_log ev ON ev.seq = m.event_seq AND ev.seq > `+lo+` AND ev.seq <= `+hi)
}

// keyed tells whether table has entity keys on this backend.
func (e *Engine) keyed(table string) bool {
	return slices.Contains(store.EntityKeyTables, table) && e.db.Capabilities().EntityKey() != ""
}

// byKeys narrows the rows of table, whose key column is col, to the keys
// of the packed entity ids $1, before their ids are compared: the
// condition and AND, or "" where table has no keys.
func (e *Engine) byKeys(table, col string) string {
	if !e.keyed(table) {
		return ""
	}
	return col + " IN (SELECT " + e.db.Capabilities().EntityKeyOf(plainListSQL("$1", "TEXT")) + ") AND "
}

// moveMergedSQL moves the rows of table ($1: losers, $2: their survivors
// in mergeList, named m) from seq column seq $3 on to the survivors. With
// entity keys, the rows are narrowed by the losers' keys before their ids
// are compared (a pass: 30 to 17 ms at 10M events), and get their
// survivor's key.
func (e *Engine) moveMergedSQL(table, seq, mergeList string) string {
	set := "entity_id = m.survivor"
	if e.keyed(table) {
		set += ", entity_key = " + e.db.Capabilities().EntityKeyOf("m.survivor")
	}
	where := e.byKeys(table, table+".entity_key") + table + ".entity_id = m.loser AND " + table + "." + seq + " >= $3"
	return `UPDATE ` + table + ` SET ` + set + ` FROM ` + mergeList + ` WHERE ` + where
}

// copyMoveMin is the fewest rows of entity_events or identifiers a
// statement moves to other entities by copying them (moveByCopy) rather
// than by an UPDATE.
//
// Why: DuckDB keeps an UPDATE's new values beside each vector (2,048
// rows) of each column it touches, and its commit checkpoints when what
// it keeps, counted per vector, passes checkpoint_threshold; the
// checkpoint then writes every column segment that holds an updated row
// again. A rebuild's final re-clustering moves about 370,000 mappings
// spread over the whole table: updated, their commit took 3.2 s of CPU
// (a 10M-row table); copied, deleted and inserted again, 37 ms, and the
// next checkpoint 50 ms (deleted rows are only marked). A pass's few
// hundred rows are moved faster by an UPDATE.
const copyMoveMin = 10_000

// moveByCopy moves rows of table (entity_events or identifiers, with
// their columns cols) to other entities: fill is an INSERT ... SELECT
// into the temporary table stitch_moved, made like table without the
// entity key, of the rows to move with their new entity_id; del deletes
// exactly those rows from table; then the copies are inserted.
func (e *Engine) moveByCopy(exec execFunc, what string, n int, table, cols string, fill, del statement) error {
	for _, st := range []statement{
		{"CREATE TEMP TABLE stitch_moved AS SELECT " + cols + " FROM " + table + " LIMIT 0", nil},
		{"INSERT INTO stitch_moved (" + cols + ") " + fill.query, fill.args},
		del,
		{e.insertKeyed(table, cols, "SELECT "+cols+" FROM stitch_moved"), nil},
		{"DROP TABLE stitch_moved", nil},
	} {
		if err := exec(what, n, st.query, st.args...); err != nil {
			return err
		}
	}
	return nil
}

// statement is a query and its arguments.
type statement struct {
	query string
	args  []any
}

// newEntityLists packs new entities: their ids, created seqs,
// identifier counts and first event times.
func (e *Engine) newEntityLists(ents []newEntity) (ids, seqs, counts, ats plainList) {
	for _, n := range ents {
		ids.add(n.id)
		seqs.addInt(n.createdSeq)
		counts.add(e.countsJSON(n.counts))
		ats.addInt(n.firstAt)
	}
	return ids, seqs, counts, ats
}

// writeRefused records the links of the batch's events refused as
// ambiguous outside the region.
func (e *Engine) writeRefused(b *batch, p *plan, exec execFunc) error {
	rows := make([]refusedRow, len(p.refused))
	for i, l := range p.refused {
		rows[i] = refusedRow{entity: p.eventEntity[l.ev], seq: b.seqs[l.ev], key: b.keys[l.key]}
	}
	return e.logRefused(rows, exec)
}

// refusedRow is a link refused as ambiguous: the event's seq and entity,
// and the identifier.
type refusedRow struct {
	entity string
	seq    int64
	key    identKey
}

// logRefused records links refused as ambiguous in stitch_refused.
func (e *Engine) logRefused(rows []refusedRow, exec execFunc) error {
	var ents, seqs, cats, hashes plainList
	var vals textList
	for _, r := range rows {
		ents.add(r.entity)
		seqs.addInt(r.seq)
		cats.add(e.cats[r.key.cat])
		vals.add(r.key.value)
		hashes.addInt(e.keyHash(r.key))
	}
	return exec("record refused links", ents.n, `INSERT INTO stitch_refused (entity_id, event_seq, category, value, reason, key_hash)
		SELECT `+plainListSQL("$1", "TEXT")+`, `+plainListSQL("$2", "BIGINT")+`, `+plainListSQL("$3", "TEXT")+`, `+textListSQL("$4")+`, '`+reasonAmbiguous+`', `+
		plainListSQL("$5", "BIGINT"), ents.String(), seqs.String(), cats.String(), vals.String(), hashes.String())
}

// logAudit records a pass's audit rows.
func (e *Engine) logAudit(audit map[auditKey]*auditRow, now time.Time, exec execFunc) error {
	var cats, reasons, events, seqs plainList
	var vals textList
	for k, r := range audit {
		cats.add(e.cats[k.cat])
		vals.add(k.value)
		reasons.add(k.reason)
		events.addInt(r.events)
		seqs.addInt(r.firstSeq)
	}
	return exec("audit", len(audit), `INSERT INTO stitch_audit (category, value, reason, events, first_event_seq, recorded_at)
		SELECT `+plainListSQL("$1", "TEXT")+`, `+textListSQL("$2")+`, `+plainListSQL("$3", "TEXT")+`,
		       `+plainListSQL("$4", "BIGINT")+`, `+plainListSQL("$5", "BIGINT")+`, CAST($6 AS TIMESTAMPTZ)`,
		cats.String(), vals.String(), reasons.String(), events.String(), seqs.String(), now)
}

// txExec is the execFunc of a transaction writing the events lo+1..hi.
func txExec(ctx context.Context, tx *store.Tx, lo, hi int64) execFunc {
	return func(what string, n int, query string, args ...any) error {
		if n == 0 {
			return nil
		}
		if trace {
			defer traceSince(time.Now(), what, n)
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("stitch %d..%d: %s: %w", lo+1, hi, what, err)
		}
		return nil
	}
}

// trace, set by the environment variable WEFT_STITCH_TRACE, prints the
// time of each pass and of each of its statements to stderr: how the
// figures of BENCHMARKS.md were taken apart.
var trace = os.Getenv("WEFT_STITCH_TRACE") != ""

func traceSince(t time.Time, what string, n int) {
	fmt.Fprintf(os.Stderr, "stitch trace: %-40s %8d rows %8.1f ms\n", what, n, float64(time.Since(t).Microseconds())/1000)
}

// logMerges records merges in stitch_merges.
func (e *Engine) logMerges(merges []merge, now time.Time, exec execFunc) error {
	var surv, lose, cats, seqs plainList
	var vals textList
	for _, m := range merges {
		surv.add(m.survivor)
		lose.add(m.loser)
		cats.add(e.cats[m.key.cat])
		vals.add(m.key.value)
		seqs.addInt(m.seq)
	}
	return exec("log merges", len(merges), `INSERT INTO stitch_merges (survivor, loser, event_seq, category, value, merged_at)
		SELECT `+plainListSQL("$1", "TEXT")+`, `+plainListSQL("$2", "TEXT")+`, `+plainListSQL("$3", "BIGINT")+`,
		       `+plainListSQL("$4", "TEXT")+`, `+textListSQL("$5")+`, CAST($6 AS TIMESTAMPTZ)`,
		surv.String(), lose.String(), seqs.String(), cats.String(), vals.String(), now)
}
