package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

var attributeTests = []test{
	{"ValuesOf", testAttributeValuesOf},
}

// testAttributeValuesOf: calculated values read back per entity and
// attribute, several values of a list attribute in order.
func testAttributeValuesOf(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	insertAttributeValues(t, s, `SELECT 'e1' AS entity_id, 'tags' AS attribute_id, 'b' AS value UNION ALL SELECT 'e1', 'tags', 'a'
		UNION ALL SELECT 'e1', 'total', '12.5' UNION ALL SELECT 'e2', 'total', '3'`)
	got, err := s.AttributeValuesOf(ctx, []string{"e1", "e9"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string][]string{"e1": {"tags": {"a", "b"}, "total": {"12.5"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("values %v, want %v", got, want)
	}
	// Where the values are narrowed by entity key first, a key shared by
	// another entity's rows does not bring them in: the ids decide.
	if k := s.Capabilities().EntityKey(); k != "" {
		exec(t, s, "UPDATE customer_attributes SET entity_key = (SELECT "+k+" FROM (SELECT 'e1' AS entity_id) x) WHERE entity_id = 'e2'")
		if got, err = s.AttributeValuesOf(ctx, []string{"e1"}); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("values with a shared key %v, %v, want %v", got, err, want)
		}
		got, err = s.AttributeValuesOf(ctx, []string{"e2", "e1"})
		want["e2"] = map[string][]string{"total": {"3"}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("values of both %v, %v, want %v", got, err, want)
		}
		delete(want, "e2")
	}
	states, err := s.AttributeStates(ctx)
	if err != nil || len(states) != 0 {
		t.Fatalf("states before any run: %v, %v", states, err)
	}
}

// insertAttributeValues stores the rows (entity_id, attribute_id, value) of
// a query as calculated values, with their entity keys where the backend
// has them.
func insertAttributeValues(t *testing.T, s *store.DB, rows string) {
	t.Helper()
	keyCol, keyVal := "", ""
	if k := s.Capabilities().EntityKey(); k != "" {
		keyCol, keyVal = ", entity_key", ", "+k
	}
	exec(t, s, `INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at`+keyCol+`)
		SELECT entity_id, attribute_id, value, CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ)`+keyVal+` FROM (`+rows+`) v`)
}
