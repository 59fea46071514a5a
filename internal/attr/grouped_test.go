package attr

import "testing"

// TestSingleValued: custom attributes of one aggregate over base yield
// one value per customer; other custom queries, and lists, may yield
// several.
func TestSingleValued(t *testing.T) {
	for _, c := range []struct {
		d    Definition
		want bool
	}{
		{Definition{Type: TypeSum, Value: "1"}, true},
		{Definition{Type: TypeLast, Value: "1"}, true},
		{Definition{Type: TypeList, Value: "1"}, false},
		{Definition{Type: TypeCustom, Query: "SELECT count(*) AS value FROM base WHERE source_id = 'shop' AND type = 'purchase'"}, true},
		{Definition{Type: TypeCustom, Query: "SELECT count(*) / CAST((SELECT value FROM context WHERE key = 'p90_events') AS DOUBLE PRECISION) AS value FROM base"}, true},
		{Definition{Type: TypeCustom, Query: "SELECT max(event_time) AS value FROM base"}, true},
		{Definition{Type: TypeCustom, Query: "SELECT payload->>'sku' AS value FROM base"}, false},
		{Definition{Type: TypeCustom, Query: "SELECT count(*) AS value FROM base GROUP BY type"}, false},
		{Definition{Type: TypeCustom, Query: "SELECT generate_series(1, 3) * count(*) AS value FROM base"}, false},
		{Definition{Type: TypeCustom, Query: "SELECT DISTINCT type AS value FROM base"}, false},
	} {
		if got := c.d.SingleValued(); got != c.want {
			t.Errorf("%s %q: single-valued %v, want %v", c.d.Type, c.d.Query+c.d.Value, got, c.want)
		}
	}
}
