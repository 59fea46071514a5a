package attr

import "github.com/weftdata/weft/internal/sqlrewrite"

// customGroupedOver is customQueryOver for a query of the shape
// sqlrewrite.GroupedForm recognises, as one grouped statement
// (sqlrewrite.Grouped), or false for any other query.
func (d *Definition) customGroupedOver(due, from, entity string) (string, bool) {
	return sqlrewrite.Grouped(d.Query, due, from, entity, func(v string) string { return typed(d.dataType(), v) })
}
