package attr

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// The caches are kept up to date by deltas: a statement over a chunk of
// due entities returns the values it deletes and inserts, and the run adds
// up the changes per attribute and value, so that an incremental run never
// counts the whole value table. Attributes calculated for every entity
// (and every attribute after a stitching rebuild) are counted again.

// cacheDelta is the change of one attribute's counts during a run.
type cacheDelta struct {
	values    map[string]int64 // value -> change of its entity count
	customers int64            // change of entities with a value
}

// deltas are the cache changes of several attributes.
type deltas map[string]*cacheDelta

// of returns an attribute's delta, adding an empty one.
func (ds deltas) of(id string) *cacheDelta {
	d := ds[id]
	if d == nil {
		d = &cacheDelta{values: map[string]int64{}}
		ds[id] = d
	}
	return d
}

// add adds other to ds.
func (ds deltas) add(other deltas) {
	for id, o := range other {
		d := ds.of(id)
		for v, n := range o.values {
			d.values[v] += n
		}
		d.customers += o.customers
	}
}

// collectByAttribute reads (attribute_id, entity_id, value) rows that a
// statement deleted (sign -1) or inserted (+1) into per-attribute deltas,
// and returns how many rows each attribute had.
func collectByAttribute(rows *sql.Rows, ds deltas, sign int64) (map[string]int64, error) {
	defer rows.Close()
	counts := map[string]int64{}
	entities := map[[2]string]bool{}
	for rows.Next() {
		var id, ent, v string
		if err := rows.Scan(&id, &ent, &v); err != nil {
			return counts, err
		}
		ds.of(id).values[v] += sign
		counts[id]++
		entities[[2]string{id, ent}] = true
	}
	for k := range entities {
		ds[k[0]].customers += sign
	}
	return counts, rows.Err()
}

// changedPairs is the statement that lists in attr_changed the (attribute,
// entity) pairs whose values in old (a subquery of attribute_id,
// entity_id, value rows) and in attr_new differ as multisets (a custom
// query may give a value twice): those with a value whose count differs.
// Only these pairs' rows are replaced: an incremental run over entities
// whose values did not change writes nothing (10k entities of the
// 2M-event store: deleting and inserting their 120k unchanged rows, and
// the commit, took about 150 ms), and the caches' deltas are those of
// these pairs alone. Grouping by value first and keeping the few rows
// that differ costs about half of grouping every pair again above it
// (52-72 against 87-97 ms of CPU for 120k rows a side, DuckDB).
func changedPairs(old string) string {
	return `CREATE TEMP TABLE attr_changed AS
SELECT DISTINCT attribute_id, entity_id FROM (
  SELECT attribute_id, entity_id, value FROM (
    SELECT attribute_id, entity_id, value, 1 AS c FROM ` + old + ` r
    UNION ALL SELECT attribute_id, entity_id, value, -1 AS c FROM attr_new
  ) v GROUP BY attribute_id, entity_id, value HAVING sum(c) <> 0
) x`
}

// ofChanged restricts rows (a subquery of attribute_id, entity_id, value)
// to the pairs in attr_changed.
func ofChanged(rows string) string {
	return `(SELECT r.attribute_id, r.entity_id, r.value FROM ` + rows + ` r
  JOIN attr_changed c ON c.attribute_id = r.attribute_id AND c.entity_id = r.entity_id)`
}

// countChanges adds to ds the changes of the caches when the values of
// the pairs in attr_changed are replaced: old holds their old rows
// (attribute_id, entity_id, value). The database compares them: only the
// counts that change are read.
func countChanges(ctx context.Context, tx store.Executor, old string, ds deltas) error {
	rows, err := tx.QueryContext(ctx, `SELECT attribute_id, value, CAST(sum(c) AS BIGINT) FROM (
		SELECT attribute_id, value, -1 AS c FROM `+ofChanged(old)+` o
		UNION ALL SELECT attribute_id, value, 1 AS c FROM `+ofChanged("attr_new")+` n
	) v GROUP BY attribute_id, value HAVING sum(c) <> 0`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, v string
		var n int64
		if err := rows.Scan(&id, &v, &n); err != nil {
			return err
		}
		ds.of(id).values[v] += n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// An entity counts for an attribute while it has a value of it.
	customers, err := store.Counts(ctx, tx, `SELECT attribute_id, CAST(sum(c) AS BIGINT) FROM (
		SELECT attribute_id, -1 AS c FROM (SELECT DISTINCT attribute_id, entity_id FROM `+ofChanged(old)+` o) had
		UNION ALL SELECT attribute_id, 1 AS c FROM (SELECT DISTINCT attribute_id, entity_id FROM `+ofChanged("attr_new")+` n) has
	) e GROUP BY attribute_id`)
	if err != nil {
		return err
	}
	for id, n := range customers {
		if n != 0 {
			ds.of(id).customers += n
		}
	}
	return nil
}

// updateCaches recounts the attributes in recount and applies the deltas
// of the others.
func (r *run) updateCaches(ctx context.Context, recount []string) error {
	now := r.e.opts.Now().UTC().Truncate(time.Microsecond)
	if len(recount) > 0 {
		for _, s := range []struct {
			what, q string
			args    []any
		}{
			{"count customers", "AttrCustomersRecount", []any{recount, now}},
			{"clear values cache", "AttrValueCountsRecountClear", []any{recount}},
			{"count values", "AttrValueCountsRecount", []any{recount, now}},
		} {
			if _, err := r.exec(ctx, s.what, r.conn.Query(s.q), s.args...); err != nil {
				return err
			}
		}
	}
	var ids, values []string
	var changes []int64
	customers := map[string]int64{}
	for id, d := range r.deltas {
		if slices.Contains(recount, id) {
			continue
		}
		for v, n := range d.values {
			if n != 0 {
				ids, values, changes = append(ids, id), append(values, v), append(changes, n)
			}
		}
		if d.customers != 0 {
			customers[id] = d.customers
		}
	}
	if len(ids) > 0 {
		if err := r.applyValueDeltas(ctx, ids, values, changes, now); err != nil {
			return err
		}
	}
	for id, n := range customers {
		if _, err := r.exec(ctx, "update customers cache", r.conn.Query("AttrCustomersAdd"), id, n, now); err != nil {
			return err
		}
	}
	return nil
}

// applyValueDeltas adds changes to the counts of (attribute, value) pairs,
// dropping counts that reach zero.
func (r *run) applyValueDeltas(ctx context.Context, ids, values []string, changes []int64, now time.Time) error {
	for _, s := range []struct {
		what, q string
		args    []any
	}{
		{"drop delta table", "AttrDeltaDrop", nil},
		{"load deltas", "AttrDeltaLoad", []any{ids, values, changes}},
		{"drop old counts", "AttrValueCountsDeltaClear", nil},
		{"store new counts", "AttrValueCountsDeltaStore", []any{now}},
	} {
		if _, err := r.exec(ctx, s.what, r.conn.Query(s.q), s.args...); err != nil {
			return fmt.Errorf("%w (%d value changes)", err, len(ids))
		}
	}
	return nil
}
