package storetest

import (
	"context"
	"testing"
)

var pluginTests = []test{
	{"KeyKeptOnce", testPluginKeyKeptOnce},
	{"PropertyValues", testPluginPropertyValues},
}

// testPluginKeyKeptOnce: the first signing key stored is the one every
// later insert keeps (two processes starting at once agree on it).
func testPluginKeyKeptOnce(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	for _, k := range []string{"first", "second"} {
		if _, err := s.ExecContext(ctx, s.Query("PluginKeyInsert"), k, fixedNow); err != nil {
			t.Fatal(err)
		}
	}
	var key string
	if err := s.QueryRowContext(ctx, s.Query("PluginKeyGet")).Scan(&key); err != nil || key != "first" {
		t.Fatalf("key %q, %v", key, err)
	}
}

// testPluginPropertyValues: published values read back per entity as
// JSON, and entities without any are absent.
func testPluginPropertyValues(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	exec(t, s, `INSERT INTO plugin_property_values (property_id, entity_id, value) VALUES ('p1', 'e1', '0.5'), ('p2', 'e1', '"x"'), ('p1', 'e2', '1')`)
	got, err := s.PropertyValuesOf(ctx, []string{"e1", "e3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["e1"]) != 2 || string(got["e1"]["p2"]) != `"x"` {
		t.Fatalf("values %v", got)
	}
}
