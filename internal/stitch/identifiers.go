package stitch

import (
	"fmt"
	"strings"
)

// condition is the SQL condition on an event row's columns that selects
// the events of the reference.
func (r eventRef) condition() string {
	where := "source_id = " + quote(r.source)
	if r.typ != anyType {
		where += " AND type = " + quote(r.typ)
	}
	if r.version != "" {
		where += " AND version = " + quote(r.version)
	}
	return where
}

// IdentifiersSQL is a query of the identifiers the rules read from the rows
// of from, a table or a parenthesized subquery with event_log's columns:
// one row (id, category, value) per event id and identifier, blocked
// values included. Erasure uses it to find the events that carry a
// suppressed identifier, among staged events at ingest and among those
// not stitched yet.
func (c Config) IdentifiersSQL(from string) (string, error) {
	parts := make([]string, 0, len(c.Rules))
	for i, r := range c.Rules {
		ev, err := parseEvent(r.Event)
		if err != nil {
			return "", &RuleError{Index: i, Rule: r, Err: err}
		}
		parts = append(parts, fmt.Sprintf("SELECT id, %s AS category, CAST(v AS TEXT) AS value FROM (SELECT id, (%s) AS v FROM %s event_log WHERE %s) r%d WHERE v IS NOT NULL",
			quote(r.Identifier), r.ValueExpression, from, ev.condition(), i))
	}
	if len(parts) == 0 {
		return "", nil
	}
	return strings.Join(parts, "\nUNION ALL\n"), nil
}
