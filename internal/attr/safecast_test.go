package attr_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/worked"
)

const castYAML = `stitching:
  rules:
    - {identifier: email, event: shop/purchase, value_expression: "payload->>'email'"}
attributes:
  - {id: spent, type: sum, value: "(payload->>'total')::numeric"}
  - {id: orders, type: num_of_unique, value: "id"}
  - {id: last_total, type: last, data_type: float, value: "CAST(payload->>'total' AS DOUBLE PRECISION)", filter: "(payload->>'n')::int > 0"}
  - {id: outer_spent, type: sum, value: "payload", outer_value: "(value->>'total')::numeric"}
`

func purchase(id, email, total string, minute int) string {
	return fmt.Sprintf(`{"id":%q,"source_id":"shop","type":"purchase","version":"1","event_time":"2026-02-01T10:%02d:00Z","payload":{"email":%q,"total":%q,"n":"1"}}`, id, minute, email, total)
}

func stateOf(t *testing.T, s *store.DB, id string) store.AttributeState {
	t.Helper()
	states, err := s.AttributeStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("no state of %s in %+v", id, states)
	return store.AttributeState{}
}

// TestCastFailures: an event whose value does not convert in a cast of an
// attribute's value counts as NULL, the attribute is calculated for every
// customer, and its state counts the failures with an example event; on
// the full path (every entity at once) and the incremental one (a chunk).
func TestCastFailures(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, castYAML)
			ingest(t, f.s, purchase("a1", "a@x", "10.5", 1), purchase("a2", "a@x", "12,50", 2), purchase("a3", "a@x", "2", 3),
				purchase("b1", "b@x", "7", 4), purchase("c1", "c@x", "1.25", 5), purchase("c2", "c@x", "3", 6))
			res := f.run(t, attr.RunOptions{})
			byID := map[string]attr.AttributeResult{}
			for _, a := range res.Attributes {
				byID[a.ID] = a
			}
			if a := byID["spent"]; a.CastFailures != 1 || a.CastFailureEventID != "a2" {
				t.Errorf("spent: %+v, want 1 cast failure at a2", a)
			}
			want := map[string]map[string][]string{
				"a1": {"spent": {"12.5"}, "orders": {"3"}, "last_total": {"2"}, "outer_spent": {"12.5"}},
				"b1": {"spent": {"7"}, "orders": {"1"}, "last_total": {"7"}, "outer_spent": {"7"}},
				"c1": {"spent": {"4.25"}, "orders": {"2"}, "last_total": {"3"}, "outer_spent": {"4.25"}},
			}
			for ev, w := range want {
				if got := f.values(t, f.entityOf(t, ev)); !reflect.DeepEqual(got, w) {
					t.Errorf("customer of %s: %v, want %v", ev, got, w)
				}
			}
			if st := stateOf(t, f.s, "spent"); st.Status != "ok" || st.CastFailures != 1 || st.CastFailureEventID != "a2" {
				t.Errorf("state of spent: %+v", st)
			}
			for _, id := range []string{"last_total", "outer_spent"} {
				if st := stateOf(t, f.s, id); st.CastFailures != 1 || st.CastFailureEventID != "a2" {
					t.Errorf("state of %s: %+v", id, st)
				}
			}
			if st := stateOf(t, f.s, "orders"); st.Status != "ok" || st.CastFailures != 0 || st.CastFailureEventID != "" {
				t.Errorf("state of orders, which has no cast: %+v", st)
			}

			// The incremental path: new events of two customers, one bad.
			ingest(t, f.s, purchase("b2", "b@x", "x", 7), purchase("c3", "c@x", "1", 8))
			f.clock.t = f.clock.t.Add(time.Hour)
			if res := f.run(t, attr.RunOptions{}); res.DueEntities != 2 {
				t.Errorf("%d due entities, want 2", res.DueEntities)
			}
			if got := f.values(t, f.entityOf(t, "b1"))["spent"]; !reflect.DeepEqual(got, []string{"7"}) {
				t.Errorf("b spent %v, want 7", got)
			}
			if got := f.values(t, f.entityOf(t, "c1"))["spent"]; !reflect.DeepEqual(got, []string{"5.25"}) {
				t.Errorf("c spent %v, want 5.25", got)
			}
			for _, id := range []string{"spent", "outer_spent"} {
				if st := stateOf(t, f.s, id); st.Status != "ok" || st.CastFailures != 1 || st.CastFailureEventID != "b2" {
					t.Errorf("state of %s after the incremental run: %+v", id, st)
				}
			}
			if got := f.values(t, f.entityOf(t, "c1"))["outer_spent"]; !reflect.DeepEqual(got, []string{"5.25"}) {
				t.Errorf("c outer_spent %v, want 5.25", got)
			}
		})
	}
}

// TestCastUnaffected: an attribute over clean data has no count.
func TestCastUnaffected(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, castYAML)
			ingest(t, f.s, purchase("a1", "a@x", "10.5", 1), purchase("b1", "b@x", "7", 2))
			for _, a := range f.run(t, attr.RunOptions{}).Attributes {
				if a.CastFailures != 0 || a.CastFailureEventID != "" {
					t.Errorf("%+v", a)
				}
			}
			if st := stateOf(t, f.s, "spent"); st.CastFailures != 0 || st.CastFailureEventID != "" {
				t.Errorf("state of spent: %+v", st)
			}
			if got := f.values(t, f.entityOf(t, "a1"))["spent"]; !reflect.DeepEqual(got, []string{"10.5"}) {
				t.Errorf("a spent %v", got)
			}
		})
	}
}

// TestNonCastError: an attribute whose statement fails for another reason
// than a value that does not convert fails as before, with its message.
func TestNonCastError(t *testing.T) {
	// A runtime error that is no conversion on each engine.
	failing := map[string]string{
		"duckdb":   `error('boom ' || (payload->>'total'))`,
		"postgres": `jsonb_array_elements(payload->'total')`,
	}
	message := map[string]string{"duckdb": "boom 10.5", "postgres": "cannot extract elements from a scalar"}
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, castYAML+`  - {id: broken, type: list, value: "`+failing[backend]+`"}
`)
			ingest(t, f.s, purchase("a1", "a@x", "10.5", 1), purchase("a2", "a@x", "12,50", 2))
			for _, a := range f.runWithErrors(t, attr.RunOptions{}).Attributes {
				if (a.ID == "broken") != (a.Status == "error") || a.ID == "broken" && (!strings.Contains(a.Error, message[backend]) || a.CastFailures != 0) {
					t.Errorf("%s: %s %s", a.ID, a.Status, a.Error)
				}
			}
			if st := stateOf(t, f.s, "broken"); st.Status != "error" || !strings.Contains(st.Error, message[backend]) {
				t.Errorf("state of broken: %+v", st)
			}
			if got := f.values(t, f.entityOf(t, "a1"))["spent"]; !reflect.DeepEqual(got, []string{"10.5"}) {
				t.Errorf("spent beside a failing attribute: %v", got)
			}
		})
	}
}

// TestCastFailuresWorked: the worked example with one purchase whose
// total does not convert (the "12,50"): every attribute is
// calculated, the totals of the other purchases are as before, and each
// attribute whose cast failed counts that one event, the weighted one
// (a set-returning value with a cast in its weight) included.
func TestCastFailuresWorked(t *testing.T) {
	bad := worked.Record("e99", "eshop/purchase", "2024-01-06T10:00", `{"email":"jane@example.com","total":"12,50","currency":"EUR","products":[{"sku":"S9","category":"socks"}]}`)
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, worked.Config)
			ingest(t, f.s, append(slices.Clone(worked.Events), bad)...)
			f.run(t, attr.RunOptions{})
			x := f.values(t, f.entityOf(t, "e1"))
			for _, id := range []string{"eshop_revenue_sum", "eshop_order_avg", "eshop_order_max", "eshop_order_min", "eur_revenue_sum"} {
				if !reflect.DeepEqual(x[id], worked.ExpectedX[id]) {
					t.Errorf("%s: %v, want %v", id, x[id], worked.ExpectedX[id])
				}
				if st := stateOf(t, f.s, id); st.CastFailures != 1 || st.CastFailureEventID != "e99" {
					t.Errorf("state of %s: %+v", id, st)
				}
			}
			if st := stateOf(t, f.s, "spend_weighted_category"); st.CastFailures != 1 || st.CastFailureEventID != "e99" {
				t.Errorf("state of spend_weighted_category: %+v", st)
			}
			if got := x["categories_count"]; !reflect.DeepEqual(got, []string{"3"}) {
				t.Errorf("categories_count %v: the bad purchase's products count", got)
			}
			for _, id := range []string{"web_url_first", "fav_category", "purchases_custom"} {
				if st := stateOf(t, f.s, id); st.CastFailures != 0 {
					t.Errorf("state of %s: %+v", id, st)
				}
			}
		})
	}
}

// TestErrorInChunk: an attribute that fails on new activity in an
// incremental run fails alone; the others of the chunk, whose statements
// may have run with its own in one (newValuesTogether), get their values.
func TestErrorInChunk(t *testing.T) {
	// A runtime error, no conversion, for the event flagged fail only.
	failing := map[string]string{
		"duckdb":   `CASE WHEN payload->>'fail' = 'yes' THEN error('boom') ELSE payload->>'total' END`,
		"postgres": `CAST(1 / (CASE WHEN payload->>'fail' = 'yes' THEN 0 ELSE 1 END) AS TEXT)`,
	}
	message := map[string]string{"duckdb": "boom", "postgres": "division by zero"}
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, castYAML+`  - {id: broken, type: list, value: "`+failing[backend]+`"}
`)
			ingest(t, f.s, purchase("a1", "a@x", "10.5", 1), purchase("b1", "b@x", "7", 2))
			f.run(t, attr.RunOptions{})
			ingest(t, f.s, `{"id":"a2","source_id":"shop","type":"purchase","version":"1","event_time":"2026-02-01T10:03:00Z","payload":{"email":"a@x","total":"2","n":"1","fail":"yes"}}`)
			f.clock.t = f.clock.t.Add(time.Hour)
			res := f.runWithErrors(t, attr.RunOptions{})
			if res.DueEntities != 1 {
				t.Errorf("due entities %d, want 1", res.DueEntities)
			}
			for _, a := range res.Attributes {
				if (a.ID == "broken") != (a.Status == "error") || a.ID == "broken" && !strings.Contains(a.Error, message[backend]) {
					t.Errorf("%s: %s %s", a.ID, a.Status, a.Error)
				}
			}
			got := f.values(t, f.entityOf(t, "a1"))
			if !reflect.DeepEqual(got["spent"], []string{"12.5"}) || !reflect.DeepEqual(got["orders"], []string{"2"}) {
				t.Errorf("values beside a failing attribute: %v", got)
			}
		})
	}
}
