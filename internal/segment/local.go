package segment

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// An incremental run evaluates each segment over its candidates only: a
// few thousand entities of millions. Read from the whole tables, every
// condition of every segment would scan them (tens of millions of
// attribute values, the log) to keep a few rows. Instead the run copies
// the candidates' rows once, into small temporary tables that every
// segment's query then reads (the compiler's local mode):
//
//	seg_c_ids       the candidates of all segments
//	seg_c_entities  their rows of entities
//	seg_c_attrs     their values of the attributes conditions read
//	seg_c_idents    their identifiers of the categories conditions read
//	                and of the stitching's (the events of their changes
//	                carry the oldest: run.lookUpIdentifiers reads it here)
//	seg_c_members   their memberships as the run began
//	seg_c_events    their events of the types event conditions read,
//	                without payloads (fetching those of a few events
//	                costs as much as a scan of the log's payloads: the
//	                conditions that read them join the log instead),
//	                from entity_events alone when no condition names a
//	                version
//
// The copies are made confined, as config SQL reads them.

// localTables are the copies, in the order they are made.
var localTables = []string{"seg_c_ids", "seg_c_entities", "seg_c_attrs", "seg_c_idents", "seg_c_members", "seg_c_events"}

// copyCandidates copies the rows of the candidates of the plans that run
// incrementally; on failure, those plans fail.
func (r *run) copyCandidates(ctx context.Context, plans []*plan) {
	var inc []*plan
	for _, p := range plans {
		if p.incremental && p.err == nil {
			inc = append(inc, p)
		}
	}
	if len(inc) == 0 {
		return
	}
	began := time.Now()
	stmts := r.copyStatements(inc)
	err := store.RunConfigSQL(ctx, r.conn, r.e.caps, false, func(x store.Executor) error {
		for _, q := range stmts {
			if _, err := x.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("copy the candidates' rows: %w", err)
	}
	r.copied = err == nil
	for _, p := range inc {
		p.err = err
	}
	// The copy is the first incremental segment's.
	if inc[0].sr.PhasesMS == nil {
		inc[0].sr.PhasesMS = map[string]float64{}
	}
	inc[0].sr.PhasesMS["copy candidates"] += ms(time.Since(began))
}

// copyStatements are the statements that make the copies.
func (r *run) copyStatements(inc []*plan) []string {
	ids := "SELECT entity_id FROM seg_c_ids"
	// Tables with an entity key are narrowed by the candidates' keys before
	// their ids are compared: the semi join of the ids alone hashes the
	// 32-character id of every row of the table.
	byKey := ""
	if key := r.e.caps.EntityKey(); key != "" {
		byKey = "entity_key IN (SELECT " + key + " FROM seg_c_ids) AND "
	}
	stmts := make([]string, 0, 2*len(localTables))
	for _, t := range localTables {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+t)
	}
	stmts = append(stmts,
		"CREATE TEMP TABLE seg_c_ids AS SELECT DISTINCT entity_id FROM seg_cands",
		"CREATE TEMP TABLE seg_c_entities AS SELECT id, merged_into FROM entities WHERE id IN ("+ids+")",
		// Only the attributes and categories read: the values of an
		// attribute lie together, so zone maps skip the others' rows.
		r.copyAttrs(inc, byKey, ids),
		"CREATE TEMP TABLE seg_c_idents AS SELECT entity_id, category, value, first_seq FROM identifiers WHERE "+byKey+
			inList("category", r.identCategories(inc))+" AND entity_id IN ("+ids+")",
		"CREATE TEMP TABLE seg_c_members AS SELECT segment_id, entity_id FROM segment_members WHERE entity_id IN ("+ids+")",
		r.copyEvents(inc, byKey, ids),
	)
	// Statistics for the planner, where it needs them (run.statistics).
	for _, t := range [][2]string{{"seg_c_ids", "entity_id"}, {"seg_c_entities", "id"}, {"seg_c_attrs", "entity_id"},
		{"seg_c_idents", "entity_id"}, {"seg_c_members", "entity_id"}, {"seg_c_events", "entity_id"}} {
		stmts = append(stmts, r.e.caps.IndexAfterCopy(t[0], t[1])...)
	}
	return stmts
}

// copyAttrs is the statement that copies the candidates' values (ids,
// narrowed first by byKey) of the attributes the plans' conditions read.
// Where a scan per attribute costs less than one testing the list
// (store.Capabilities.ScanPerConstant), each attribute is a scan of its
// own: the values of an attribute lie together, so each skips the others'
// row groups and tests its constant in the scan (10M events, 11k
// candidates, 8 of 23 attributes: 0.31-0.37 s of CPU against 0.40-0.45 s).
func (r *run) copyAttrs(inc []*plan, byKey, ids string) string {
	names := quotedNames(inc, func(n *Condition) string { return n.Attribute })
	sel := "SELECT entity_id, attribute_id, value FROM customer_attributes WHERE " + byKey
	cand := " AND entity_id IN (" + ids + ")"
	if len(names) < 2 || !r.e.caps.ScanPerConstant() {
		return "CREATE TEMP TABLE seg_c_attrs AS " + sel + inList("attribute_id", names) + cand
	}
	scans := make([]string, len(names))
	for i, k := range names {
		scans[i] = sel + "attribute_id = " + k + cand
	}
	return "CREATE TEMP TABLE seg_c_attrs AS " + strings.Join(scans, " UNION ALL ")
}

// identCategories are the identifier categories the copy keeps, quoted:
// those the plans' conditions read and the stitching's, whose oldest
// identifier the events of the changes carry (run.lookUpIdentifiers).
// Copying the values of all of them costs about what the conditions'
// categories alone did, and spares the lookup its scan of identifiers.
func (r *run) identCategories(inc []*plan) []string {
	names := quotedNames(inc, func(n *Condition) string { return n.Identifier })
	for _, c := range r.e.env.categoryList() {
		if k := quote(c); !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// quotedNames are the names key gives for the nodes of the plans'
// conditions, sorted and quoted as SQL strings.
func quotedNames(inc []*plan, key func(*Condition) string) []string {
	var names []string
	for _, p := range inc {
		visitWithRefs(&p.d.Condition, p.comp.segments, func(n *Condition) {
			if k := key(n); k != "" && !slices.Contains(names, k) {
				names = append(names, k)
			}
		})
	}
	slices.Sort(names)
	for i, k := range names {
		names[i] = quote(k)
	}
	return names
}

// inList is the condition that col is one of the quoted names (FALSE for
// none).
func inList(col string, names []string) string {
	if len(names) == 0 {
		return "FALSE"
	}
	return col + " IN (" + strings.Join(names, ", ") + ")"
}

// copyEvents is the statement that copies the candidates' events (ids,
// narrowed first by byKey) of the types the plans' event conditions read.
// When none of those names a version (mapped), entity_events alone holds
// what the copy keeps, and the log is not read (version is NULL then, and
// no condition tests it). Where the types are tested on the join's rows
// (typesTest), the candidates are joined (seg_c_ids holds each once, so
// the join keeps the rows a semi join keeps): tested in the scan, they
// ran on all 10M mappings (1.1 to 1.5 s at load 5, against 0.23 to 0.40 s;
// the copy from the log 0.30 to 1.07 s).
func (r *run) copyEvents(inc []*plan, byKey, ids string) string {
	filters, all := r.eventFilters(inc)
	if all && len(filters) > 0 {
		from, cand := " FROM entity_events ev", "ev.entity_id IN ("+ids+") AND "
		if r.e.caps.FiltersAfterSelectiveJoin() {
			from, cand = from+" JOIN seg_c_ids c ON c.entity_id = ev.entity_id", ""
		}
		return "CREATE TEMP TABLE seg_c_events AS SELECT ev.entity_id, ev.event_seq AS seq, ev.source_id, ev.type, CAST(NULL AS TEXT) AS version, ev.event_time" +
			from + " WHERE " + byKey + cand + "(" + r.typesTest(filters, "c.entity_id") + ")"
	}
	where := " WHERE FALSE"
	if len(filters) > 0 {
		where = " WHERE " + r.typesTest(filters, "ee.event_seq")
	}
	return "CREATE TEMP TABLE seg_c_events AS SELECT ee.entity_id, ev.seq, ev.source_id, ev.type, ev.version, ev.event_time" +
		" FROM (SELECT entity_id, event_seq FROM entity_events WHERE " + byKey + "entity_id IN (" + ids + ")) ee JOIN event_log ev ON ev.seq = ee.event_seq" +
		where
}

// eventFilters are the filters of the event types the plans' event
// conditions read, and whether entity_events answers all of them (mapped).
func (r *run) eventFilters(inc []*plan) (filters []string, all bool) {
	all = true
	for _, p := range inc {
		visitWithRefs(&p.d.Condition, p.comp.segments, func(n *Condition) {
			if n.Event != "" {
				all = all && mapped(n)
				if f := "(" + eventFilter(n) + ")"; !slices.Contains(filters, f) {
					filters = append(filters, f)
				}
			}
		})
	}
	slices.Sort(filters)
	return filters, all
}

// typesTest is the test of the candidates' events copied against the
// event types' filters, any of them. Where filters cost less on a
// selective join's rows than in the scan
// (store.Capabilities.FiltersAfterSelectiveJoin, DuckDB), it ends with a
// term naming joined, a column of the join's other side that is never
// NULL: the term never holds, and keeps the planner from moving the test
// below the join into the scan, where the test, an OR over two columns
// (source and type), ran on every row before the join to the candidates'
// few (the copy from the log: 0.55 to 0.61 s of CPU against 0.36 to 0.38
// s; 10M events, 11k candidates).
func (r *run) typesTest(filters []string, joined string) string {
	test := strings.Join(filters, " OR ")
	if r.e.caps.FiltersAfterSelectiveJoin() {
		test += " OR " + joined + " IS NULL"
	}
	return test
}
