package attr

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// run is the state of one Engine.Run, on one connection (attr_due is a
// temporary table of that connection).
type run struct {
	e     *Engine
	conn  *store.Conn
	start time.Time // stored as calculated_at: activity after it is due next time
	only  bool
	// phases adds up the time of the parts of a run, in milliseconds.
	phases map[string]float64
	// deltas are the changes of the caches (cache.go); recount the
	// attributes whose caches are counted again instead.
	deltas  deltas
	recount []string
	// counted are the attributes whose caches were counted from their new
	// values as they replaced all the old ones.
	counted []string
	// stale says the run marked the caches stale (changing).
	stale bool
	// forceContexts runs every context query, whatever its age
	// (RefreshContexts).
	forceContexts bool
	// cleared says prepare deleted every value of the run's attributes
	// (from_scratch): a full pass has none of them to delete.
	cleared bool
}

// timer starts timing a phase; calling what it returns stops it.
func (r *run) timer(phase string) func() {
	began := time.Now()
	return func() { r.phases[phase] += float64(time.Since(began).Microseconds()) / 1000 }
}

func (r *run) exec(ctx context.Context, what, q string, args ...any) (int64, error) {
	res, err := r.conn.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("attributes: %s: %w", what, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// execConfined is exec for a statement that holds SQL from the config or
// makes a temporary table such SQL reads or writes: it runs confined
// (store.RunConfigSQL), and on PostgreSQL the tables it makes belong to
// the restricted role, which Weft's role is a member of. With what empty
// the error is the statement's own, as an attribute's result shows it.
func (r *run) execConfined(ctx context.Context, what, q string, args ...any) (int64, error) {
	var n int64
	err := store.RunConfigSQL(ctx, r.conn, r.e.caps, false, func(x store.Executor) error {
		res, err := x.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil && what != "" {
		return 0, fmt.Errorf("attributes: %s: %w", what, err)
	}
	return n, err
}

// idList is a SQL list of validated ids (no quotes in them).
func idList(defs []*Definition) string {
	ids := make([]string, len(defs))
	for i, d := range defs {
		ids[i] = d.ID
	}
	return quoteList(ids)
}

// prepare creates attr_due and applies from_scratch and recalculate_all.
func (r *run) prepare(ctx context.Context, defs []*Definition, ro RunOptions) error {
	if _, err := r.execConfined(ctx, "create attr_due", r.conn.Query("AttrDueCreate")); err != nil {
		return err
	}
	if len(defs) == 0 {
		return nil
	}
	in := "attribute_id IN (" + idList(defs) + ")"
	steps := [][2]string{}
	switch {
	case ro.FromScratch:
		steps = append(steps,
			[2]string{"clear values", "DELETE FROM customer_attributes WHERE " + in},
			// The state stays (saveState writes it again, never deleting
			// a key: see AttrStateSave); the hash is forgotten.
			[2]string{"forget state", "UPDATE attribute_state SET hash = NULL WHERE " + in})
		if !r.only {
			steps = append(steps, [2]string{"refresh contexts", "UPDATE context SET modified = NULL"})
		}
	case ro.RecalculateAll:
		// Forgetting the definition's hash recalculates every entity for
		// it, replacing values one chunk at a time.
		steps = append(steps, [2]string{"recalculate all", "UPDATE attribute_state SET hash = NULL WHERE " + in})
	}
	if len(steps) > 0 {
		if err := r.changing(ctx); err != nil {
			return err
		}
	}
	r.cleared = ro.FromScratch
	for _, s := range steps {
		if _, err := r.exec(ctx, s[0], s[1]); err != nil {
			return err
		}
	}
	return nil
}

// changing records, before the run's first change of values, that the
// caches do not count them yet (attribute_meta.caches_stale, cleared by
// saveState): should the run fail before, the next one counts them again.
func (r *run) changing(ctx context.Context) error {
	if r.stale {
		return nil
	}
	if _, err := r.exec(ctx, "mark the caches stale", r.conn.Query("AttrCachesStaleSet"), true); err != nil {
		return err
	}
	r.stale = true
	return nil
}

// cleanup removes values nobody should see: of entities merged away since
// the last run (or, after a stitching rebuild, of every entity that is not
// live), and, when the attribute set changed, of attributes no longer
// defined or disabled.
//
// After a run from scratch of every attribute there is nothing to look
// for: every value was calculated again, for live entities only.
func (r *run) cleanup(ctx context.Context, everything, fromScratch, attributesChanged bool) error {
	if err := r.changing(ctx); err != nil {
		return err
	}
	var steps [][2]string
	if fromScratch && !r.only {
		for i := range r.e.defs {
			if d := &r.e.defs[i]; d.IsEnabled() && !slices.Contains(r.counted, d.ID) && !slices.Contains(r.recount, d.ID) {
				r.recount = append(r.recount, d.ID)
			}
		}
	} else if everything {
		steps = [][2]string{{"drop values of entities that are not live",
			"DELETE FROM customer_attributes WHERE entity_id NOT IN (SELECT id FROM entities WHERE merged_into IS NULL)"}}
		for i := range r.e.defs {
			if d := &r.e.defs[i]; d.IsEnabled() && !slices.Contains(r.recount, d.ID) {
				r.recount = append(r.recount, d.ID)
			}
		}
	} else {
		rows, err := r.conn.QueryContext(ctx, r.conn.Query("AttrMergedValuesDelete"))
		if err == nil {
			_, err = collectByAttribute(rows, r.deltas, -1)
		}
		if err != nil {
			return fmt.Errorf("attributes: drop values of merged entities: %w", err)
		}
	}
	// Merged entities are done with once their values are gone.
	steps = append(steps, [2]string{"mark merged entities",
		`UPDATE entities SET attributes_calculated_at = CAST('` + r.start.Format(time.RFC3339Nano) + `' AS TIMESTAMPTZ)
		 WHERE merged_into IS NOT NULL AND (attributes_calculated_at IS NULL OR modified_at > attributes_calculated_at)`})
	if attributesChanged {
		var enabled []*Definition
		for i := range r.e.defs {
			if r.e.defs[i].IsEnabled() {
				enabled = append(enabled, &r.e.defs[i])
			}
		}
		keep := "''"
		if len(enabled) > 0 {
			keep = idList(enabled)
		}
		steps = append(steps,
			[2]string{"drop values of removed attributes", "DELETE FROM customer_attributes WHERE attribute_id NOT IN (" + keep + ")"},
			[2]string{"drop state of removed attributes", "DELETE FROM attribute_state WHERE attribute_id NOT IN (" + keep + ")"},
			[2]string{"drop customers cache of removed attributes", "DELETE FROM attribute_customers_cache WHERE attribute_id NOT IN (" + keep + ")"},
			[2]string{"drop values cache of removed attributes", "DELETE FROM attribute_values_counts WHERE attribute_id NOT IN (" + keep + ")"})
	}
	for _, s := range steps {
		if _, err := r.exec(ctx, s[0], s[1]); err != nil {
			return err
		}
	}
	return nil
}

// rebuilt reports whether no entity was ever calculated: the first run,
// or the first after stitching rebuilt the entities from scratch.
func (r *run) rebuilt(ctx context.Context) (bool, error) {
	var one int
	err := r.conn.QueryRowContext(ctx, r.conn.Query("AttrAnyCalculated")).Scan(&one)
	if err == sql.ErrNoRows {
		return true, nil
	}
	return false, err
}

// split sorts the definitions into those every entity must be calculated
// for (new, changed, or forgotten by from_scratch/recalculate_all) and
// those only due entities are.
func (r *run) split(ctx context.Context, defs []*Definition) (full, incremental []*Definition, err error) {
	hashes := map[string]string{}
	rows, err := r.conn.QueryContext(ctx, r.conn.Query("AttrStateHashes"))
	if err != nil {
		return nil, nil, fmt.Errorf("attributes: read state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			return nil, nil, err
		}
		hashes[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	for _, d := range defs {
		if hashes[d.ID] == d.hash() {
			incremental = append(incremental, d)
		} else {
			full = append(full, d)
		}
	}
	return full, incremental, nil
}

// dueCondition selects live entities with activity since their last
// calculation or not calculated for StaleAfter ($1 is the cut-off).
const dueCondition = `merged_into IS NULL AND (attributes_calculated_at IS NULL
  OR modified_at > attributes_calculated_at OR attributes_calculated_at < $1)`

// hasWork reports whether a run will calculate anything: live entities
// for a full pass, or due ones.
func (r *run) hasWork(ctx context.Context, full bool) (bool, error) {
	cond, args := dueCondition, []any{r.start.Add(-r.e.opts.StaleAfter)}
	if full {
		cond, args = "merged_into IS NULL", nil
	}
	var one int
	err := r.conn.QueryRowContext(ctx, "SELECT 1 FROM entities WHERE "+cond+" LIMIT 1", args...).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("attributes: look for due entities: %w", err)
	}
	return true, nil
}

// calculate runs the definitions over the due entities (or all live ones
// when all is set), chunk by chunk, and returns how many entities it went
// through. A failing attribute is recorded and skipped in later chunks;
// the others go on.
func (r *run) calculate(ctx context.Context, defs []*Definition, results map[string]*AttributeResult, all bool) (int64, error) {
	if len(defs) == 0 {
		return 0, nil
	}
	cond, args := dueCondition, []any{r.start.Add(-r.e.opts.StaleAfter)}
	if all {
		cond, args = "merged_into IS NULL", nil
	}
	var total int64
	after := ""
	for {
		if _, err := r.exec(ctx, "clear attr_due", r.conn.Query("AttrDueClear")); err != nil {
			return total, err
		}
		// A full pass whose first chunk holds every live entity reads the
		// log directly, and nothing reads attr_due; other chunks copy their
		// events once.
		src := chunkEntities
		var got int64
		if all && after == "" {
			live, err := r.liveEntities(ctx)
			if err != nil || live == 0 {
				return total, err
			}
			if live < int64(r.e.opts.ChunkSize) {
				src, got = allEntities, live
			}
		}
		if src == chunkEntities {
			var err error
			n := len(args)
			fill := fmt.Sprintf("INSERT INTO attr_due SELECT id FROM entities WHERE %s AND id > $%d ORDER BY id LIMIT %d", cond, n+1, r.e.opts.ChunkSize)
			got, err = r.exec(ctx, "choose due entities", fill, append(args, after)...)
			if err != nil || got == 0 {
				return total, err
			}
			if _, err := r.exec(ctx, "analyze due entities", r.conn.Query("AttrDueAnalyze")); err != nil {
				return total, err
			}
			done := r.timer("copy_events")
			err = r.copyEvents(ctx)
			done()
			if err != nil {
				return total, err
			}
			if err := r.conn.QueryRowContext(ctx, r.conn.Query("AttrDueMax")).Scan(&after); err != nil {
				return total, fmt.Errorf("attributes: %w", err)
			}
		}
		total += got
		queries, stages := r.stage(ctx, defs, results, src)
		if all {
			for _, d := range defs {
				if res := results[d.ID]; res.Status == "ok" {
					r.calculateOne(ctx, d, res, got, src, queries[d.ID])
				}
			}
		} else if err := r.calculateChunk(ctx, defs, results, got, queries); err != nil {
			return total, err
		}
		r.dropStages(ctx, stages)
		// Entities are calculated when every attribute ran over them: after
		// this chunk for the due ones; the full pass, after the due ones,
		// covers every live entity. A run of some attributes only leaves
		// them due for the others.
		if !r.only {
			done := r.timer("mark_calculated")
			mark := "AttrMarkCalculated"
			if src == allEntities {
				mark = "AttrMarkCalculatedAll"
			}
			_, err := r.exec(ctx, "mark calculated", r.conn.Query(mark), r.start)
			done()
			if err != nil {
				return total, err
			}
		}
		if got < int64(r.e.opts.ChunkSize) {
			return total, nil
		}
	}
}

// liveEntities counts the live entities. A full pass over fewer than a
// chunk of them needs no list of them: filling attr_due (a sort of every
// live entity's id, 0.1 s for the 400k entities of the 2M-event store)
// would be its only use.
func (r *run) liveEntities(ctx context.Context) (int64, error) {
	var n int64
	if err := r.conn.QueryRowContext(ctx, r.conn.Query("AttrLiveCount")).Scan(&n); err != nil {
		return 0, fmt.Errorf("attributes: count live entities: %w", err)
	}
	return n, nil
}

// copyEvents copies the events of the chunk's entities into attr_events.
func (r *run) copyEvents(ctx context.Context) error {
	if _, err := r.exec(ctx, "drop attr_events", r.conn.Query("AttrEventsDrop")); err != nil {
		return err
	}
	if _, err := r.execConfined(ctx, "copy the chunk's events", copyChunkEvents(r.e.caps.EntityKey())); err != nil {
		return err
	}
	// Custom queries look up each entity's events: an engine that does
	// not join the copy by hash scans it once per entity without an index.
	for _, q := range r.e.caps.IndexAfterCopy("attr_events", "entity_id") {
		if _, err := r.exec(ctx, "index the chunk's events", q); err != nil {
			return err
		}
	}
	return nil
}

// stage fills the staging tables (stage.go) for the chunk's definitions
// that have not failed, and returns each one's statement: over its staging
// table, or over base itself when the table could not be filled, so that
// an attribute whose expressions fail does so alone.
func (r *run) stage(ctx context.Context, defs []*Definition, results map[string]*AttributeResult, src source) (map[string]string, []*stage) {
	caps := r.e.caps
	queries := map[string]string{}
	var ok []*Definition
	for _, d := range defs {
		if results[d.ID].Status == "ok" {
			ok = append(ok, d)
			queries[d.ID] = d.query(src, caps)
		}
	}
	var made []*stage
	// Where a copy needs no index (DuckDB joins it by hash), custom
	// queries over every entity read the events staged once for all of
	// them too.
	customs := src == allEntities && len(caps.IndexAfterCopy(baseStage, "entity_id")) == 0
	var wide *stage
	for _, st := range r.planStages(ctx, ok, src, caps, customs) {
		phase := "stage_events" // the shared table
		if st.name != "attr_stage_0" {
			phase = "stage_set_values"
		}
		done := r.timer(phase)
		_, err := r.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+st.name)
		if err == nil {
			_, err = r.execConfined(ctx, "", st.sql)
		}
		done()
		if err != nil {
			continue
		}
		made = append(made, st)
		for _, d := range st.defs {
			queries[d.ID] = st.query(d, caps)
		}
		if st.allEvents {
			wide = st
		}
	}
	if fill, events := customBase(ok, wide); customs && events != "" {
		var err error
		if fill != "" {
			done := r.timer("stage_custom_base")
			_, err = r.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+baseStage)
			if err == nil {
				_, err = r.execConfined(ctx, "", fill)
			}
			if err == nil {
				made = append(made, &stage{name: baseStage})
			}
			done()
		}
		if err == nil {
			for _, d := range ok {
				if d.Type == TypeCustom {
					q, ok := d.customGroupedOver(dueOf(src), events, "e.entity_id")
					if !ok {
						q = d.customQueryOver(dueOf(src), events+" WHERE e.entity_id = due.entity_id")
					}
					queries[d.ID] = q
				}
			}
		}
	}
	return queries, made
}

// calculateOne replaces one attribute's values for the chunk in attr_due
// with those of its statement q, in one transaction: the old values stay
// until the new ones are in. When the chunk is every live entity, the
// new values are counted for the caches on the way, instead of the whole
// value table at the end of the run.
//
// A statement that fails on a value that does not convert runs again with
// safe casts (safecast.go).
func (r *run) calculateOne(ctx context.Context, d *Definition, res *AttributeResult, entities int64, src source, q string) {
	began := time.Now()
	defer func() { res.DurationMS += float64(time.Since(began).Microseconds()) / 1000 }()
	err := r.replaceOne(ctx, d, res, entities, src, q)
	if safe, ok := r.retrySafe(d, src, q, err); ok {
		if err = r.replaceOne(ctx, d, res, entities, src, safe); err == nil {
			r.countCastFailures(ctx, d, res, src)
		}
	}
	if err != nil {
		res.Status, res.Error = "error", err.Error()
	}
}

// replaceOne is calculateOne with statement q. Where config SQL runs
// unconfined by the database (DuckDB, or PostgreSQL without a restricted
// role), the statement's rows go straight into the value table and
// attr_res, which the caches count, is a view of them; with a role, whose
// rights are reading, the rows go through attr_res as a temporary table.
// The straight insert runs on all cores where an insert from a temporary
// table ran on one (DuckDB at 2M events: 134 against 184 ms per attribute,
// statement and insert).
func (r *run) replaceOne(ctx context.Context, d *Definition, res *AttributeResult, entities int64, src source, q string) error {
	tx, err := r.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	del := "DELETE FROM customer_attributes WHERE attribute_id = $1 AND entity_id IN (SELECT entity_id FROM attr_due)"
	if src == allEntities {
		del = "DELETE FROM customer_attributes WHERE attribute_id = $1"
	}
	if err := r.changing(ctx); err != nil {
		return err
	}
	insert := "INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at" + r.keyColumn() + ") SELECT entity_id, $1, value, CAST($2 AS TIMESTAMPTZ)" + r.keyValue() + " FROM "
	configSQL := func(stmt string, args ...any) (sql.Result, error) {
		var sr sql.Result
		err := store.RunConfigSQLIn(ctx, tx, r.e.caps, func() error {
			var err error
			sr, err = tx.ExecContext(ctx, stmt, args...)
			return err
		})
		return sr, err
	}
	var sr sql.Result
	// After from_scratch's delete, a full pass's delete finds nothing, but
	// still reads the attribute ids of every row (3-4 ms per attribute at
	// 2M events).
	deleted := r.cleared && src == allEntities
	if len(r.e.caps.ConfineConfigSQL(false)) == 0 {
		if !deleted {
			_, err = tx.ExecContext(ctx, del, d.ID)
		}
		if err == nil {
			sr, err = configSQL(insert+"("+q+") r", d.ID, r.start)
		}
		if err == nil {
			// What the caches count (AttrValueCountsFromRes).
			_, err = tx.ExecContext(ctx, "CREATE OR REPLACE TEMP VIEW attr_res AS SELECT entity_id, value FROM customer_attributes WHERE attribute_id = "+quoteList([]string{d.ID}))
		}
	} else {
		_, err = tx.ExecContext(ctx, "DROP TABLE IF EXISTS attr_res")
		if err == nil {
			_, err = configSQL("CREATE TEMP TABLE attr_res AS SELECT entity_id, value FROM (" + q + ") r")
		}
		if err == nil && !deleted {
			_, err = tx.ExecContext(ctx, del, d.ID)
		}
		if err == nil {
			sr, err = tx.ExecContext(ctx, insert+"attr_res", d.ID, r.start)
		}
	}
	if err != nil {
		return err
	}
	n, _ := sr.RowsAffected()
	counted := src == allEntities
	if counted {
		if err := r.countAll(ctx, tx, d, n); err != nil {
			return err
		}
	}
	if err = tx.Commit(); err != nil {
		return err
	}
	res.Rows += n
	res.Entities += entities
	if counted {
		r.counted = append(r.counted, d.ID)
	} else if !slices.Contains(r.recount, d.ID) {
		// Counted again at the end of the run.
		r.recount = append(r.recount, d.ID)
	}
	return nil
}

// countAll sets the caches of attribute d from its values, all of which
// the transaction tx has just written, rows of them. An attribute with one
// value per entity has as many customers as rows: they are not counted
// again (a scan of the value table per attribute, 18 of the demo's 23).
func (r *run) countAll(ctx context.Context, tx store.ExecutorTx, d *Definition, rows int64) error {
	now := r.e.opts.Now().UTC().Truncate(time.Microsecond)
	customers := struct {
		name string
		args []any
	}{"AttrCustomersFromEntities", []any{d.ID, now}}
	if !d.Multiple() {
		customers.name, customers.args = "AttrCustomersSet", []any{d.ID, rows, now}
	}
	for _, s := range []struct {
		name string
		args []any
	}{customers, {"AttrValueCountsClear", []any{d.ID}}, {"AttrValueCountsFromRes", []any{d.ID, now}}} {
		if _, err := tx.ExecContext(ctx, r.conn.Query(s.name), s.args...); err != nil {
			return err
		}
	}
	return nil
}

// calculateChunk calculates the attributes for a chunk of due entities:
// each attribute's new values go to attr_new by a statement of its own (a
// failing one is recorded and keeps its old values), then one transaction
// replaces the old values of the attributes that succeeded, reading the
// value table once. The rows deleted and inserted are the caches' delta.
func (r *run) calculateChunk(ctx context.Context, defs []*Definition, results map[string]*AttributeResult, entities int64, queries map[string]string) error {
	if _, err := r.exec(ctx, "prepare attr_new", "DROP TABLE IF EXISTS attr_new"); err != nil {
		return err
	}
	if _, err := r.execConfined(ctx, "prepare attr_new", "CREATE TEMP TABLE attr_new (entity_id TEXT, attribute_id TEXT, value TEXT)"); err != nil {
		return err
	}
	var ok []*Definition
	if entities <= togetherUpTo {
		ok = r.newValuesTogether(ctx, defs, results, entities, queries)
	}
	if ok == nil {
		ok = r.newValuesEach(ctx, defs, results, entities, queries)
	}
	if len(ok) == 0 {
		return nil
	}
	done := r.timer("replace_values")
	defer done()
	tx, err := r.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	attrs := ""
	if r.only || len(ok) < r.e.enabled() {
		// Other attributes' values of these entities stay.
		attrs = " AND attribute_id IN (" + idList(ok) + ")"
	}
	rep := r.e.caps.ChunkValuesReplace(attrs)
	if len(rep.Prepare) > 0 {
		find := r.timer("find_old_values")
		for _, q := range rep.Prepare {
			if _, err = tx.ExecContext(ctx, q); err != nil {
				break
			}
		}
		find()
		if err != nil {
			return fmt.Errorf("attributes: replace values: %w", err)
		}
	}
	inserted, err := store.Counts(ctx, tx, "SELECT attribute_id, count(*) FROM attr_new GROUP BY attribute_id")
	if err != nil {
		return fmt.Errorf("attributes: replace values: %w", err)
	}
	changes, stale, err := r.replaceChanged(ctx, tx, rep)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return fmt.Errorf("attributes: replace values: %w", err)
	}
	r.stale = r.stale || stale
	r.deltas.add(changes) // only once the transaction committed
	for id, n := range inserted {
		results[id].Rows += n
	}
	return nil
}

// replaceChanged replaces, in tx, the old rows (rep.Read) of the pairs
// whose values changed with their rows of attr_new, and returns the
// changes of the caches, and whether it marked them stale. The old and
// new values are compared before the delete and the insert: DuckDB's
// RETURNING costs four times the statement.
func (r *run) replaceChanged(ctx context.Context, tx store.ExecutorTx, rep store.ChunkReplace) (deltas, bool, error) {
	changes := deltas{}
	if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS attr_changed"); err != nil {
		return nil, false, err
	}
	if _, err := tx.ExecContext(ctx, changedPairs("("+rep.Read+")")); err != nil {
		return nil, false, err
	}
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM attr_changed").Scan(&n); err != nil {
		return nil, false, err
	}
	if n == 0 {
		return changes, false, nil
	}
	// The caches do not count the changes until saveState: marked in
	// the transaction of the changes (see changing).
	stale := false
	if !r.stale {
		if _, err := tx.ExecContext(ctx, tx.Query("AttrCachesStaleSet"), true); err != nil {
			return nil, false, err
		}
		stale = true
	}
	if err := countChanges(ctx, tx, "("+rep.Read+")", changes); err != nil {
		return nil, false, err
	}
	if _, err := tx.ExecContext(ctx, rep.Delete); err != nil {
		return nil, false, err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at`+r.keyColumn()+`)
		SELECT entity_id, attribute_id, value, CAST($1 AS TIMESTAMPTZ)`+r.keyValue()+` FROM `+ofChanged("attr_new")+` n`, r.start)
	return changes, stale, err
}

// togetherUpTo is the largest chunk whose attributes' new values go to
// attr_new in one statement (newValuesTogether). Over a few entities the
// fixed cost of each statement (planning, its pipelines) is most of its
// time: the 23 demo attributes over 10k entities of the 2M-event store took
// 81 ms of wall time as one INSERT against 190-220 ms as 23 (DuckDB). Over
// many it does not pay: a full calculation's 23 inserts of the 2M-event
// store as one took 4.9 s of CPU against 3.0 s (BENCHMARKS.md, fifth session).
const togetherUpTo = 100_000

// newValuesTogether inserts the new values of every attribute of the chunk
// that has not failed into attr_new in one statement, and returns those
// attributes, each with an equal share of the statement's time. On any
// error it inserts nothing and returns nil: newValuesEach then runs them
// one by one, so that a failing attribute fails alone.
func (r *run) newValuesTogether(ctx context.Context, defs []*Definition, results map[string]*AttributeResult, entities int64, queries map[string]string) []*Definition {
	var ok []*Definition
	var parts []string
	for _, d := range defs {
		if results[d.ID].Status == "ok" {
			ok = append(ok, d)
			parts = append(parts, fmt.Sprintf("SELECT entity_id, %s, value FROM (%s) r", quoteList([]string{d.ID}), queries[d.ID]))
		}
	}
	if len(ok) < 2 {
		return nil
	}
	began := time.Now()
	if _, err := r.execConfined(ctx, "", "INSERT INTO attr_new\n"+strings.Join(parts, "\nUNION ALL\n")); err != nil {
		return nil
	}
	share := float64(time.Since(began).Microseconds()) / 1000 / float64(len(ok))
	for _, d := range ok {
		results[d.ID].DurationMS += share
		results[d.ID].Entities += entities
	}
	return ok
}

// newValuesEach inserts the new values of each attribute of the chunk that
// has not failed into attr_new by a statement of its own, and returns those
// that succeeded; a failing one is recorded.
func (r *run) newValuesEach(ctx context.Context, defs []*Definition, results map[string]*AttributeResult, entities int64, queries map[string]string) []*Definition {
	var ok []*Definition
	for _, d := range defs {
		res := results[d.ID]
		if res.Status != "ok" {
			continue
		}
		began := time.Now()
		insert := "INSERT INTO attr_new SELECT entity_id, $1, value FROM (%s) r"
		_, err := r.execConfined(ctx, "", fmt.Sprintf(insert, queries[d.ID]), d.ID)
		// One that fails on a value that does not convert runs again with
		// safe casts (safecast.go).
		if safe, ok := r.retrySafe(d, chunkEntities, queries[d.ID], err); ok {
			if _, err = r.execConfined(ctx, "", fmt.Sprintf(insert, safe), d.ID); err == nil {
				r.countCastFailures(ctx, d, res, chunkEntities)
			}
		}
		res.DurationMS += float64(time.Since(began).Microseconds()) / 1000
		if err != nil {
			res.Status, res.Error = "error", err.Error()
			continue
		}
		res.Entities += entities
		ok = append(ok, d)
	}
	return ok
}

// keyColumn and keyValue add entity_key to an insert into
// customer_attributes on a backend that has the column
// (store.Capabilities.EntityKey).
func (r *run) keyColumn() string {
	if r.e.caps.EntityKey() != "" {
		return ", entity_key"
	}
	return ""
}

func (r *run) keyValue() string {
	if k := r.e.caps.EntityKey(); k != "" {
		return ", " + k
	}
	return ""
}

// saveState records the run of each attribute it calculated; one that
// succeeded stores the definition's hash, so the next runs are
// incremental, and one that failed forgets it, so the next is full again.
// It is the run's last write: a run that fails before it keeps the old
// hashes, so that its retry calculates every entity again for the new or
// changed attributes instead of finding nothing due.
func (r *run) saveState(ctx context.Context, defs []*Definition, results map[string]*AttributeResult) error {
	done := r.timer("save_state")
	defer done()
	// One transaction: one commit instead of two per attribute.
	tx, err := r.conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("attributes: save state: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var ids, hashes, statuses, errs, failureEvents []string
	var entities, rows, failures []int64
	var durations []float64
	for _, d := range defs {
		res := results[d.ID]
		if !res.Full && res.Entities == 0 && res.Status == "ok" {
			continue // not calculated by this run: its last run stays on record
		}
		hash, errText := "", res.Error // '' is NULL (AttrStateSave)
		if res.Status == "ok" {
			hash, errText = d.hash(), ""
		}
		failureEvent := ""
		if res.CastFailures > 0 {
			failureEvent = res.CastFailureEventID
		}
		ids, hashes, statuses, errs = append(ids, d.ID), append(hashes, hash), append(statuses, res.Status), append(errs, errText)
		entities, rows, durations = append(entities, res.Entities), append(rows, res.Rows), append(durations, res.DurationMS)
		failures, failureEvents = append(failures, max(res.CastFailures, 0)), append(failureEvents, failureEvent)
	}
	if len(ids) > 0 {
		if _, err := tx.ExecContext(ctx, tx.Query("AttrStateSave"), ids, hashes, statuses, errs, entities, rows,
			durations, failures, failureEvents, r.e.opts.Now().UTC()); err != nil {
			return fmt.Errorf("attributes: save state: %w", err)
		}
	}
	// The caches are written: a later run need not count them again.
	if r.stale {
		if _, err := tx.ExecContext(ctx, tx.Query("AttrCachesStaleSet"), false); err != nil {
			return fmt.Errorf("attributes: save state: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("attributes: save state: %w", err)
	}
	return nil
}

// ValuesCacheTop is how many of an attribute's most frequent values one
// read of the values cache returns at most.
const ValuesCacheTop = 1000

// sqlType is the column type of a data type in the pivoted view.
var sqlType = map[string]string{DataString: "TEXT", DataInt: "BIGINT", DataFloat: "DOUBLE PRECISION",
	DataBool: "BOOLEAN", DataDate: "DATE", DataDatetime: "TIMESTAMPTZ"}

// updateView recreates pivoted_customer_attributes when the attribute set
// changed: one row per live entity, one column per enabled attribute,
// several values as an array.
func (r *run) updateView(ctx context.Context) (bool, error) {
	var cols []string
	for i := range r.e.defs {
		d := &r.e.defs[i]
		if !d.IsEnabled() {
			continue
		}
		typ := sqlType[d.dataType()]
		if d.Multiple() {
			// The CASE keeps the cast off other attributes' values: DuckDB
			// evaluates the argument before the FILTER.
			cols = append(cols, fmt.Sprintf("array_agg(CAST(CASE WHEN a.attribute_id = '%[1]s' THEN a.value END AS %[2]s) ORDER BY a.value) FILTER (WHERE a.attribute_id = '%[1]s') AS %[3]q", d.ID, typ, d.ID))
		} else {
			cols = append(cols, fmt.Sprintf("CAST(max(a.value) FILTER (WHERE a.attribute_id = '%s') AS %s) AS %q", d.ID, typ, d.ID))
		}
	}
	sort.Strings(cols)
	sel := "SELECT e.id AS customer_entity_id"
	for _, c := range cols {
		sel += ",\n  " + c
	}
	view := "CREATE VIEW pivoted_customer_attributes AS\n" + sel +
		"\nFROM entities e LEFT JOIN customer_attributes a ON a.entity_id = e.id\nWHERE e.merged_into IS NULL\nGROUP BY e.id"
	var old sql.NullString
	if err := r.conn.QueryRowContext(ctx, r.conn.Query("AttrViewFingerprint")).Scan(&old); err != nil {
		return false, fmt.Errorf("attributes: read view fingerprint: %w", err)
	}
	if old.String == view {
		return false, nil
	}
	tx, err := r.conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, q := range append([]string{tx.Query("AttrViewDrop"), view}, r.e.caps.GrantConfigSQLRead("pivoted_customer_attributes")...) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return false, fmt.Errorf("attributes: pivoted view: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, tx.Query("AttrViewFingerprintSet"), view); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
