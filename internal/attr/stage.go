package attr

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/weftdata/weft/internal/store"
)

// Staging: the events are read, and their JSON parsed, once per run for
// all attributes instead of once per attribute. One statement computes
// every attribute's first level (its value, weight and filter over the
// event row, each distinct expression once) as the columns of a temporary
// table, attr_stage_0; the attributes' statements then aggregate that
// narrow table. A value expression that returns a set of rows (such as
// jsonb_array_elements) cannot share a row with others: each distinct
// first level of that kind (sources, types, versions, value, weight,
// filter) gets a table of its own, shared by the attributes that have it.
// Custom attributes read base as before.

// stage is one staging table and the attributes that read it.
type stage struct {
	name string
	// sql fills the table: CREATE TEMP TABLE name AS SELECT ...
	sql  string
	defs []*Definition
	// read holds each attribute's rows as the WITH part of its statement,
	// ending in outer_rows (entity_id, event_id, event_time, tv, w), as
	// Definition.rowsQuery does over base.
	read map[string]string
	// perEvent holds the attributes whose outer_rows in read have one row
	// per event, tv never NULL: their first and last pick by (event_time,
	// event_id) alone, which no two rows share (aggregateOver).
	perEvent map[string]bool
	// allEvents says the table holds every event with the columns of base
	// (id as event_id), payload only if hasPayload: custom queries can
	// read it.
	allEvents, hasPayload bool
}

// eventColumns are the columns of base beside entity_id, id and
// event_time that a second-level expression may read.
var eventColumns = []string{"source_id", "type", "version", "payload"}

// needs reports whether SQL may read the column: it names it, or reads
// whole rows.
func needs(sql, column string) bool {
	s := strings.ToLower(sql)
	return strings.Contains(s, column) || strings.Contains(strings.ReplaceAll(s, " ", ""), ".*") ||
		strings.Contains(s, "inner_rows") || strings.Contains(s, "columns(")
}

// baseSelect is base over the events of src: the rows every first-level
// expression is written against.
func baseSelect(src source) string {
	from, entity := eventsOf(src)
	return "SELECT " + entity + " AS entity_id, e.id, e.source_id, e.type, e.version, e.event_time, e.payload FROM " + from
}

// baseSelectWhere is baseSelect narrowed, on the full read only, by the
// definitions' conditions on the mappings (mappingCondition), any of which
// may hold; "" among them (a definition the mappings cannot narrow) leaves
// every event. The events' own conditions still apply over base: these
// only let the join skip mappings that could not pass them.
func baseSelectWhere(src source, conds []string) string {
	q := baseSelect(src)
	if src != allEntities || len(conds) == 0 || slices.Contains(conds, "") {
		return q
	}
	conds = slices.Clone(conds)
	sort.Strings(conds)
	return q + " WHERE (" + strings.Join(slices.Compact(conds), ") OR (") + ")"
}

// mappingCondition is the part of the definition's event condition that
// the mappings answer ("" for none): entity_events holds each event's
// source_id and type as the log does (migration 039). Filtering both sides
// of the join, the engine hashes the mappings of those events only, not
// every one (DuckDB, the purchases' products of the 2M-event store:
// 380-405 against 460-540 ms, 730-780 against 895-1,046 ms of CPU).
func (d *Definition) mappingCondition() string {
	var where []string
	if len(d.Sources) > 0 {
		where = append(where, "m.source_id IN ("+quoteList(d.Sources)+")")
	}
	if len(d.Types) > 0 {
		where = append(where, "m.type IN ("+quoteList(d.Types)+")")
	}
	return strings.Join(where, " AND ")
}

// eventCondition is the WHERE of a definition's sources, types and
// versions over base ("" for every event).
func (d *Definition) eventCondition() string {
	var where []string
	for col, list := range map[string][]string{"source_id": d.Sources, "type": d.Types, "version": d.Versions} {
		if len(list) > 0 {
			where = append(where, col+" IN ("+quoteList(list)+")")
		}
	}
	sort.Strings(where) // map order is random
	return strings.Join(where, " AND ")
}

// simple reports whether the definition has no second level of its own:
// its typed value can be computed with the first.
func (d *Definition) simple() bool {
	return strings.TrimSpace(d.OuterValue) == "" && strings.TrimSpace(d.OuterWeight) == "" && strings.TrimSpace(d.OuterFilter) == ""
}

// weighted reports whether the calculation reads weights.
func (d *Definition) weighted() bool {
	return d.Type == TypeMostFrequent || d.Type == TypeLeastFrequent
}

// scalar reports whether the definition's value and weight are one value
// per event, so that they can share a row of the staging table with other
// attributes' columns. Both engines refuse set-returning functions (and
// aggregates and window functions, which would see other rows there) in a
// WHERE clause: the probe binds them there over no rows.
//
// The answer depends on the definition alone (the events' columns are the
// same whatever src is), so the engine keeps it: an incremental run of the
// demo's 23 attributes asked 20 probes, 8-11 ms, each time.
func (r *run) scalar(ctx context.Context, d *Definition, src source) bool {
	if ok, known := r.e.scalars[d.ID]; known {
		return ok
	}
	ok := r.probeScalar(ctx, d, src)
	if ctx.Err() == nil { // a canceled probe says nothing of the definition
		r.e.scalars[d.ID] = ok
	}
	return ok
}

// probeScalar is scalar, asked of the database.
func (r *run) probeScalar(ctx context.Context, d *Definition, src source) bool {
	q := "SELECT 1 FROM (" + baseSelect(src) + ") base WHERE ((" + d.Value + ") IS NULL OR CAST((" + or(d.Weight, "1") + ") AS DOUBLE PRECISION) IS NULL) AND 1 = 0 LIMIT 0"
	err := store.RunConfigSQL(ctx, r.conn, r.e.caps, true, func(x store.Executor) error {
		rows, err := x.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		return rows.Close()
	})
	return err == nil
}

// stagedTV is the typed value of a simple definition computed from the
// event row: event_time, already a timestamp, needs no text round trip.
func (d *Definition) stagedTV() string {
	if d.valueType() == DataDatetime && strings.EqualFold(strings.TrimSpace(d.Value), "event_time") {
		return "event_time"
	}
	return typed(d.valueType(), "CAST(("+d.Value+") AS TEXT)")
}

// when guards expr by the event condition and the filter (nested CASEs:
// the value is evaluated only for rows that pass both).
func when(cond, filter, expr string) string {
	if strings.TrimSpace(filter) != "" {
		expr = "CASE WHEN (" + filter + ") THEN " + expr + " END"
	}
	if cond != "" {
		expr = "CASE WHEN " + cond + " THEN " + expr + " END"
	}
	return expr
}

// planStages groups the non-custom definitions into staging tables over
// the events of src; caps may rewrite the JSON extraction so that each
// payload of the shared table is parsed once.
// With events, the shared table keeps the event columns when it reads
// every event, for custom queries.
func (r *run) planStages(ctx context.Context, defs []*Definition, src source, caps store.Capabilities, events bool) []*stage {
	wide := &stage{name: "attr_stage_0", read: map[string]string{}, perEvent: map[string]bool{}}
	colOf := map[string]string{}
	var cols []string
	col := func(expr string) string {
		if expr == "event_time" {
			return expr // a column of the table already (first_seen's value)
		}
		if c, ok := colOf[expr]; ok {
			return c
		}
		c := fmt.Sprintf("c%d", len(cols))
		colOf[expr] = c
		cols = append(cols, expr+" AS "+c)
		return c
	}
	conds := map[string]bool{}
	var mapped []string // the wide table's definitions' mappingCondition
	everyEvent, eventID := false, false
	extra := map[string]bool{}
	var separate []*stage
	bySignature := map[string]*stage{}
	for _, d := range defs {
		if d.Type == TypeCustom {
			continue
		}
		cond := d.eventCondition()
		if !r.scalar(ctx, d, src) {
			sig := cond + "\x00" + d.Value + "\x00" + d.Weight + "\x00" + d.Filter
			st := bySignature[sig]
			if st == nil {
				st = &stage{name: fmt.Sprintf("attr_stage_%d", len(separate)+1), read: map[string]string{}}
				bySignature[sig] = st
				separate = append(separate, st)
			}
			st.defs = append(st.defs, d)
			continue
		}
		wide.defs = append(wide.defs, d)
		if cond == "" {
			everyEvent = true
		} else {
			conds["("+cond+")"] = true
			mapped = append(mapped, d.mappingCondition())
		}
		weight := "CAST(1 AS DOUBLE PRECISION)"
		if d.simple() {
			if d.weighted() && strings.TrimSpace(d.Weight) != "" {
				weight = col(when(cond, d.Filter, "CAST(("+d.Weight+") AS DOUBLE PRECISION)"))
			}
			if d.Type == TypeFirst || d.Type == TypeLast {
				eventID = true
			}
			tv := col(when(cond, d.Filter, d.stagedTV()))
			wide.read[d.ID] = fmt.Sprintf("WITH outer_rows AS (\n  SELECT entity_id, event_id, event_time, %s AS tv, %s AS w\n  FROM attr_stage_0 WHERE %s IS NOT NULL\n)", tv, weight, tv)
			// One row per event of the log (whose ids are unique), and
			// the WHERE drops NULL values.
			wide.perEvent[d.ID] = true
			continue
		}
		// A second level reads the value, weight and event columns of the
		// rows that pass the first: a flag keeps rows whose value is NULL.
		eventID = true
		flag := col(when(cond, "", or(d.Filter, "true")))
		value := col(when(cond, d.Filter, "("+d.Value+")"))
		if strings.TrimSpace(d.Weight) != "" {
			weight = col(when(cond, d.Filter, "CAST(("+d.Weight+") AS DOUBLE PRECISION)"))
		}
		outer := d.OuterValue + " " + d.OuterWeight + " " + d.OuterFilter
		var sel []string
		for _, c := range eventColumns {
			if needs(outer, c) {
				extra[c] = true
				sel = append(sel, c)
			}
		}
		sel = append(sel, value+" AS value", weight+" AS weight")
		wide.read[d.ID] = fmt.Sprintf("WITH inner_rows AS (\n  SELECT entity_id, event_id, event_time, %s\n  FROM attr_stage_0 WHERE %s\n), %s",
			strings.Join(sel, ", "), flag, d.outerRows())
	}
	var out []*stage
	if len(wide.defs) > 0 {
		if events && everyEvent {
			wide.allEvents, wide.hasPayload, eventID = true, extra["payload"], true
			for _, c := range eventColumns[:3] {
				extra[c] = true
			}
		}
		sel := []string{"entity_id", "event_time"}
		if eventID {
			sel = append(sel, "id AS event_id")
		} else {
			sel = append(sel, "CAST(NULL AS TEXT) AS event_id")
		}
		for _, c := range eventColumns {
			if extra[c] {
				sel = append(sel, c)
			}
		}
		where := ""
		if !everyEvent {
			list := make([]string, 0, len(conds))
			for c := range conds {
				list = append(list, c)
			}
			sort.Strings(list)
			where = "\nWHERE " + strings.Join(list, " OR ")
		}
		base := baseSelect(src)
		if !everyEvent {
			base = baseSelectWhere(src, mapped)
		}
		var parsed string
		if cols, parsed = caps.JSONExtractOnce(cols, "payload"); parsed != "" {
			base = "SELECT *, " + parsed + " FROM (" + base + ") b"
		}
		// cols may be empty: every value is event_time (col).
		wide.sql = fmt.Sprintf("CREATE TEMP TABLE attr_stage_0 AS\nSELECT %s\nFROM (%s) base%s",
			strings.Join(append(sel, cols...), ",\n  "), base, where)
		out = append(out, wide)
	}
	for _, st := range separate {
		d := st.defs[0]
		cond := d.eventCondition()
		if cond != "" {
			cond = " WHERE " + cond
		}
		var sel []string
		for _, c := range eventColumns {
			for _, o := range st.defs {
				if needs(o.OuterValue+" "+o.OuterWeight+" "+o.OuterFilter, c) {
					sel = append(sel, c)
					break
				}
			}
		}
		// As Definition.rowsQuery: the filter over base restricted to the
		// definition's events gives inner_rows, which every attribute of
		// the table shares; the second level of each is computed over them
		// in the same statement, each distinct expression once.
		value := caps.JSONArrayElementsOnce(d.Value)
		inner := fmt.Sprintf(`SELECT entity_id, id AS event_id, event_time, %s(%s) AS value, CAST((%s) AS DOUBLE PRECISION) AS weight
FROM (SELECT * FROM (%s) b%s) base WHERE (%s)`,
			joinComma(sel), value, or(d.Weight, "1"), baseSelectWhere(src, []string{d.mappingCondition()}), cond, or(d.Filter, "true"))
		colOf := map[string]string{}
		var cols []string
		col := func(expr string) string {
			if c, ok := colOf[expr]; ok {
				return c
			}
			c := fmt.Sprintf("c%d", len(cols))
			colOf[expr] = c
			cols = append(cols, expr+" AS "+c)
			return c
		}
		for _, o := range st.defs {
			filter := or(o.OuterFilter, "true")
			tv := col("CASE WHEN (" + filter + ") THEN " + typed(o.valueType(), "CAST(("+or(o.OuterValue, "value")+") AS TEXT)") + " END")
			w := "CAST(1 AS DOUBLE PRECISION)"
			if o.weighted() {
				w = col("CASE WHEN (" + filter + ") THEN weight * CAST((" + or(o.OuterWeight, "1") + ") AS DOUBLE PRECISION) END")
			}
			st.read[o.ID] = fmt.Sprintf("WITH outer_rows AS (\n  SELECT entity_id, event_id, event_time, %s AS tv, %s AS w\n  FROM %s WHERE %s IS NOT NULL\n)", tv, w, st.name, tv)
		}
		var parsed string
		if cols, parsed = caps.JSONExtractOnce(cols, "value"); parsed != "" {
			inner = "SELECT *, " + parsed + " FROM (" + inner + ") i"
		}
		st.sql = fmt.Sprintf("CREATE TEMP TABLE %s AS\nSELECT entity_id, event_id, event_time,\n  %s\nFROM (%s) inner_rows",
			st.name, strings.Join(cols, ",\n  "), inner)
		out = append(out, st)
	}
	return out
}

// joinComma joins columns, each followed by a comma.
func joinComma(cols []string) string {
	s := ""
	for _, c := range cols {
		s += c + ", "
	}
	return s
}

// outerRows is the second level over inner_rows, as in rowsQuery.
func (d *Definition) outerRows() string {
	return fmt.Sprintf(`outer_rows AS (
  SELECT entity_id, event_id, event_time,
         %s AS tv, weight * CAST((%s) AS DOUBLE PRECISION) AS w
  FROM inner_rows WHERE (%s)
)`, typed(d.valueType(), "CAST(("+or(d.OuterValue, "value")+") AS TEXT)"), or(d.OuterWeight, "1"), or(d.OuterFilter, "true"))
}

// stageQuery is the SELECT of (entity_id, value TEXT) rows of a staged
// definition.
func (st *stage) query(d *Definition, caps store.Capabilities) string {
	return st.read[d.ID] + "\n" + d.aggregateOver(caps, st.perEvent[d.ID])
}

// dropStages drops the staging tables of the run's connection.
func (r *run) dropStages(ctx context.Context, stages []*stage) {
	for _, st := range stages {
		r.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+st.name) //nolint:errcheck // temporary: gone with the connection at worst
	}
}

// baseStage is the staging table that custom queries read on DuckDB when
// they calculate every entity: the events with their entities, joined once
// for all of them instead of once per query; the payloads are copied only
// when a query may read them.
const baseStage = "attr_stage_base"

// customBase returns the statement that fills baseStage for the custom
// definitions among defs ("" for none), or, when wide holds what they
// read, the events as a subquery of it.
func customBase(defs []*Definition, wide *stage) (fill, events string) {
	payload, any := false, false
	for _, d := range defs {
		if d.Type == TypeCustom {
			any = true
			payload = payload || mayReadPayload(d.Query)
		}
	}
	if !any {
		return "", ""
	}
	if wide != nil && wide.allEvents && (wide.hasPayload || !payload) {
		p := "CAST(NULL AS JSON) AS payload"
		if wide.hasPayload {
			p = "payload"
		}
		return "", "(SELECT entity_id, event_id AS id, source_id, type, version, event_time, " + p + " FROM " + wide.name + ") e"
	}
	cols := "m.entity_id, e.id, e.source_id, e.type, e.version, e.event_time"
	if payload {
		cols += ", e.payload"
	} else {
		cols += ", CAST(NULL AS JSON) AS payload"
	}
	return "CREATE TEMP TABLE " + baseStage + " AS SELECT " + cols + " FROM entity_events m JOIN event_log e ON e.seq = m.event_seq", baseStage + " e"
}

var (
	countStar = regexp.MustCompile(`\(\s*\*\s*\)`)
	fromBase  = regexp.MustCompile(`\b(from|join)\s+base\b`)
	wordBase  = regexp.MustCompile(`\bbase\b`)
)

// mayReadPayload reports whether a custom query may read the payload
// column: it names it, selects * (count(*) aside) or reads base other than
// as a table in FROM or JOIN (a whole row, as to_json(base) does).
func mayReadPayload(q string) bool {
	s := strings.ToLower(q)
	if strings.Contains(s, "payload") {
		return true
	}
	s = countStar.ReplaceAllString(s, "")
	if strings.Contains(s, "*") || strings.Contains(s, "columns(") {
		return true
	}
	return wordBase.MatchString(fromBase.ReplaceAllString(s, ""))
}
