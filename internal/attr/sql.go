package attr

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weftdata/weft/internal/store"
)

// listCap bounds the values a list attribute keeps per entity (the
// smallest ones).
const listCap = 1000

// typed converts the text of a value to the attribute's data type, NULL
// when it does not convert; weft_to_* are SQL functions of the backends
// (functions on PostgreSQL, macros on DuckDB).
func typed(dataType, text string) string {
	if dataType == DataString {
		return text
	}
	return "weft_to_" + dataType + "(" + text + ")"
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = "'" + s + "'" // validated: no quotes or backslashes
	}
	return strings.Join(q, ", ")
}

func or(expr, def string) string {
	if strings.TrimSpace(expr) == "" {
		return def
	}
	return expr
}

// source says which entities a statement calculates.
type source int

const (
	// allEntities are every live entity: the events are read without a
	// join to a list of entities (entity_events maps events to live
	// entities only).
	allEntities source = iota
	// chunkEntities are those in the run's temporary table attr_due, whose
	// events the run copied into attr_events once for all attributes, so
	// that each statement reads a few rows instead of the whole log.
	chunkEntities
)

// query returns the SELECT of (entity_id, value TEXT) rows, reading base
// itself (staging reads it once for several attributes: stage.go); caps
// are the backend's (the aggregates it has).
func (d *Definition) query(src source, caps store.Capabilities) string {
	if d.Type == TypeCustom {
		return d.customQuery(src)
	}
	return d.rowsQuery(src) + "\n" + d.aggregate(caps)
}

// copyChunkEvents is the statement that fills attr_events with the events
// of the entities in attr_due. entityKey is the backend's entity key
// (store.Capabilities.EntityKey), "" for none: with one, the mappings are
// narrowed by the integer keys of the due entities before their ids are
// compared (on DuckDB the ids of every mapping were hashed for the join).
func copyChunkEvents(entityKey string) string {
	q := `CREATE TEMP TABLE attr_events AS
SELECT m.entity_id, e.id, e.source_id, e.type, e.version, e.event_time, e.payload
FROM attr_due due JOIN entity_events m ON m.entity_id = due.entity_id JOIN event_log e ON e.seq = m.event_seq`
	if entityKey != "" {
		q += "\nWHERE m.entity_key IN (SELECT " + entityKey + " FROM attr_due)"
	}
	return q
}

// eventsOf is the FROM clause of base: rows with entity_id and the event
// columns, under the alias e.
func eventsOf(src source) (from, entity string) {
	if src == chunkEntities {
		return "attr_events e", "e.entity_id"
	}
	return "entity_events m JOIN event_log e ON e.seq = m.event_seq", "m.entity_id"
}

// rowsQuery is the WITH part of a predefined type: base (the due entities'
// events of the allowed sources, types and versions), inner_rows (value
// and weight per event, filtered) and outer_rows (typed value tv and
// weight w per first-level row, filtered).
//
// outer_rows keeps NULL values; each aggregate drops them above itself. A
// "tv IS NOT NULL" here would be pushed down into the scan of the log, and
// the JSON of every event extracted twice.
func (d *Definition) rowsQuery(src source) string {
	from, entity := eventsOf(src)
	return d.rowsQueryFrom(from, entity)
}

// rowsQueryFrom is rowsQuery over the events of a FROM clause (alias e)
// whose entity column is entity.
func (d *Definition) rowsQueryFrom(from, entity string) string {
	var where []string
	for col, list := range map[string][]string{"e.source_id": d.Sources, "e.type": d.Types, "e.version": d.Versions} {
		if len(list) > 0 {
			where = append(where, col+" IN ("+quoteList(list)+")")
		}
	}
	cond := ""
	if len(where) > 0 {
		// Map order is random: sort for a stable statement text.
		sort.Strings(where)
		cond = "\n  WHERE " + strings.Join(where, " AND ")
	}
	return fmt.Sprintf(`WITH base AS (
  SELECT %s AS entity_id, e.id, e.source_id, e.type, e.version, e.event_time, e.payload
  FROM %s%s
), inner_rows AS (
  SELECT entity_id, id AS event_id, event_time, source_id, type, version, payload,
         (%s) AS value, CAST((%s) AS DOUBLE PRECISION) AS weight
  FROM base WHERE (%s)
), outer_rows AS (
  SELECT entity_id, event_id, event_time,
         %s AS tv, weight * CAST((%s) AS DOUBLE PRECISION) AS w
  FROM inner_rows WHERE (%s)
)`, entity, from, cond,
		d.Value, or(d.Weight, "1"), or(d.Filter, "true"),
		typed(d.valueType(), "CAST(("+or(d.OuterValue, "value")+") AS TEXT)"), or(d.OuterWeight, "1"), or(d.OuterFilter, "true"))
}

// aggregate is the final SELECT of a predefined type over outer_rows. Rows
// whose tv is NULL never count: every kind drops them.
func (d *Definition) aggregate(caps store.Capabilities) string {
	return d.aggregateOver(caps, false)
}

// aggregateOver is aggregate; perEvent says outer_rows holds one row per
// event and no NULL tv (a simple definition's rows in the shared staging
// table). There, with arg_min and arg_max, first and last order by
// (event_time, event_id) only: that pair is unique (event ids are), so the
// null flag and tv that break the remaining ties elsewhere (several rows of
// one event, NULL values) change nothing, and the smaller struct key costs
// about a quarter less (DuckDB, 1.2M page views of the 2M-event store:
// 177-193 against 230-246 ms of CPU). A plain arg_min(tv, event_time) would
// be cheaper still but picks an arbitrary row among events of one time.
//
// Sums and averages of floating-point values add them in ascending order
// (store.Capabilities.SortedSum): a plain sum's last digits changed from
// run to run with the order of a parallel aggregation, and an incremental
// run then replaced values, and recounted caches, that had not changed.
func (d *Definition) aggregateOver(caps store.Capabilities, perEvent bool) string {
	argMinMax := caps.ArgMinMax()
	// DISTINCT ON keeps the first row of each entity in the order given;
	// both engines run it as a hash aggregate, not a sort of every row.
	// NULLs sort last and are dropped from the result.
	pick := func(order string) string {
		return `SELECT entity_id, value FROM (
  SELECT DISTINCT ON (entity_id) entity_id, CAST(tv AS TEXT) AS value FROM outer_rows
  ORDER BY entity_id, tv IS NULL, ` + order + `
) p WHERE value IS NOT NULL`
	}
	// A value's weight is the sum of its rows' weights, a NULL one
	// counting 0 (as the reference path reads it).
	frequent := func(order string) string {
		return `SELECT entity_id, value FROM (
  SELECT DISTINCT ON (entity_id) entity_id, CAST(tv AS TEXT) AS value FROM (
    SELECT entity_id, tv, coalesce(sum(w), 0) AS sw, max(event_time) AS lt FROM outer_rows GROUP BY entity_id, tv
  ) f ORDER BY entity_id, tv IS NULL, ` + order + `
) p WHERE value IS NOT NULL`
	}
	if argMinMax {
		// DuckDB sorts for DISTINCT ON; arg_min and arg_max over the
		// order as a struct are plain aggregates, four times faster. The
		// first field puts rows with a value before those without.
		pick = func(order string) string {
			return `SELECT entity_id, value FROM (
  SELECT entity_id, CAST(` + order + ` AS TEXT) AS value FROM outer_rows GROUP BY entity_id
) p WHERE value IS NOT NULL`
		}
		frequent = func(order string) string {
			return `SELECT entity_id, value FROM (
  SELECT entity_id, CAST(arg_min(tv, (tv IS NULL, ` + order + `, tv)) AS TEXT) AS value FROM (
    SELECT entity_id, tv, coalesce(sum(w), 0) AS sw, epoch_us(max(event_time)) AS lt FROM outer_rows GROUP BY entity_id, tv
  ) f GROUP BY entity_id
) p WHERE value IS NOT NULL`
		}
	}
	// Aggregates skip NULLs; an entity with none has no row.
	group := func(agg string) string {
		return "SELECT entity_id, CAST(" + agg + " AS TEXT) AS value FROM outer_rows GROUP BY entity_id HAVING count(tv) > 0"
	}
	switch d.Type {
	case TypeFirst:
		if argMinMax && perEvent {
			return pick("arg_min(tv, (event_time, event_id))")
		}
		if argMinMax {
			return pick("arg_min(tv, (tv IS NULL, event_time, event_id, tv))")
		}
		return pick("event_time, event_id, tv")
	case TypeLast:
		if argMinMax && perEvent {
			return pick("arg_max(tv, (event_time, event_id))")
		}
		if argMinMax {
			return pick("arg_max(tv, (tv IS NOT NULL, event_time, event_id, tv))")
		}
		return pick("event_time DESC, event_id DESC, tv DESC")
	case TypeMin, TypeValue:
		if d.dataType() == DataBool {
			return group("bool_and(tv)")
		}
		return group("min(tv)")
	case TypeMax:
		if d.dataType() == DataBool {
			return group("bool_or(tv)")
		}
		return group("max(tv)")
	case TypeSum:
		if d.dataType() == DataFloat {
			return group(caps.SortedSum("sum", "tv"))
		}
		return group("sum(tv)")
	case TypeAvg:
		if d.dataType() == DataFloat {
			return group(caps.SortedSum("avg", "CAST(tv AS DOUBLE PRECISION)"))
		}
		return group("avg(CAST(tv AS DOUBLE PRECISION))")
	case TypeNumOfUnique:
		return group("count(DISTINCT tv)")
	case TypeMostFrequent:
		if argMinMax {
			return frequent("-sw, -lt")
		}
		return frequent("sw DESC, lt DESC, tv")
	case TypeLeastFrequent:
		if argMinMax {
			return frequent("sw, -lt")
		}
		return frequent("sw, lt DESC, tv")
	case TypeList:
		return fmt.Sprintf(`SELECT entity_id, CAST(tv AS TEXT) AS value FROM (
  SELECT entity_id, tv, row_number() OVER (PARTITION BY entity_id ORDER BY tv NULLS LAST) AS rn
  FROM (SELECT DISTINCT entity_id, tv FROM outer_rows) d
) x WHERE tv IS NOT NULL AND rn <= %d`, listCap)
	}
	panic("attr: unknown type " + d.Type) // Validate refuses it first
}

// customQuery runs the user's query once per due entity, inside one
// statement: the LATERAL join binds base to that entity's events.
// A query of groupedForm runs as one grouped statement instead.
func (d *Definition) customQuery(src source) string {
	from, entity := "entity_events m JOIN event_log e ON e.seq = m.event_seq", "m.entity_id"
	if src == chunkEntities {
		from, entity = "attr_events e", "e.entity_id"
	}
	if q, ok := d.customGroupedOver(dueOf(src), from, entity); ok {
		return q
	}
	return d.customQueryOver(dueOf(src), from+" WHERE "+entity+" = due.entity_id")
}

// dueOf is the relation of the entities a source calculates.
func dueOf(src source) string {
	if src == chunkEntities {
		return "attr_due"
	}
	return "(SELECT id AS entity_id FROM entities WHERE merged_into IS NULL)"
}

// customQueryOver is customQuery for the entities of the relation due
// (column entity_id), with the events of due.entity_id as given.
func (d *Definition) customQueryOver(due, events string) string {
	return fmt.Sprintf(`SELECT entity_id, CAST(tv AS TEXT) AS value FROM (
  SELECT due.entity_id, %s AS tv
  FROM %s due, LATERAL (
    WITH base AS (
      SELECT e.id, e.source_id, e.type, e.version, e.event_time, e.payload
      FROM %s
    )
    %s
  ) q
) c WHERE tv IS NOT NULL`, typed(d.dataType(), "CAST(q.value AS TEXT)"), due, events, d.Query)
}
