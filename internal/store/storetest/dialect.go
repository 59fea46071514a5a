package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

var dialectTests = []test{
	{"SQLDialect", testSQLDialect},
}

// testSQLDialect checks the JSON operators later stages' user SQL relies on
// behave alike on every backend.
func testSQLDialect(t *testing.T, b Backend) {
	s := open(t, b, b.NewLocation(t))
	appendEvents(t, s, Ev("a", "crm", "customer_update", t0, `{"email":"  Ana@X.io ","ids":["u1","u2"]}`))
	sqlDB := s.(*store.DB)
	var email, first string
	err := sqlDB.QueryRowContext(context.Background(),
		`SELECT lower(trim(payload->>'email')), payload->'ids'->>0 FROM customer_events WHERE id = 'a'`).Scan(&email, &first)
	if err != nil {
		t.Fatal(err)
	}
	if email != "ana@x.io" || first != "u1" {
		t.Errorf("got %q, %q", email, first)
	}
	// customer_events is the log with each event's entity, NULL until
	// stitched, as Meiro's view is.
	var unstitched int
	err = sqlDB.QueryRowContext(context.Background(),
		`SELECT count(*) FROM customer_events WHERE customer_entity_id IS NULL AND seq > 0`).Scan(&unstitched)
	if err != nil || unstitched != 1 {
		t.Errorf("customer_events view: %d unstitched events, %v", unstitched, err)
	}
	appendEvents(t, s,
		Ev("b", "web", "form_submit", t0, `{"user_id":"cookie-B","inbound_user_ids":["cookie-A"],"products":[{"category":"shoes"},{"category":"hats"}]}`),
		Ev("c", "web", "form_submit", t0, `{"user_id":"cookie-C"}`),
	)
	// The seed's cross-domain stitching expression and the spec's
	// set-returning attribute value, unchanged.
	setReturning := []struct {
		name, query string
		want        []string
	}{
		{"json_array_elements_text(json_build_array(...))",
			`SELECT id || ':' || coalesce(v, 'NULL') FROM (SELECT id, json_array_elements_text(json_build_array(payload->>'user_id', payload->'inbound_user_ids'->>0)) AS v
			 FROM customer_events WHERE id IN ('b', 'c')) s ORDER BY 1`,
			[]string{"b:cookie-A", "b:cookie-B", "c:NULL", "c:cookie-C"}},
		{"jsonb_array_elements",
			`SELECT value->>'category' FROM (SELECT jsonb_array_elements(payload->'products') AS value FROM customer_events WHERE id = 'b') s ORDER BY 1`,
			[]string{"hats", "shoes"}},
		{"jsonb_build_array of three",
			`SELECT v FROM (SELECT jsonb_array_elements_text(jsonb_build_array('x', 'y', payload->>'user_id')) AS v FROM customer_events WHERE id = 'c') s ORDER BY 1`,
			[]string{"cookie-C", "x", "y"}},
	}
	for _, c := range setReturning {
		rows, err := sqlDB.QueryContext(context.Background(), c.query)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		rows.Close()
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
