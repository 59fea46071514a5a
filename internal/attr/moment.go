package attr

import "github.com/weftdata/weft/internal/store"

// QueryUpTo returns a SELECT of (entity_id, value TEXT) rows: the
// definition calculated with the engine's SQL for the entities of moments
// (a FROM item with the columns entity_id and moment_at, as a
// parenthesized query), each over its own events up to its moment_at,
// inclusive. Plugin datasets use it for attributes as they were at a
// moment of each user's life; caps are the backend's (the aggregates it
// has).
//
// It is the engine's plain statement (no staging tables, no copy of the
// events): one statement for every entity, joined to the log once.
func (d *Definition) QueryUpTo(moments string, caps store.Capabilities) string {
	if d.Type == TypeCustom {
		return d.customQueryOver(moments, "entity_events m JOIN event_log e ON e.seq = m.event_seq"+
			" WHERE m.entity_id = due.entity_id AND e.event_time <= due.moment_at")
	}
	from := moments + " c JOIN entity_events m ON m.entity_id = c.entity_id" +
		" JOIN event_log e ON e.seq = m.event_seq AND e.event_time <= c.moment_at"
	return d.rowsQueryFrom(from, "m.entity_id") + "\n" + d.aggregate(caps)
}
