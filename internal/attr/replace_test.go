package attr_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestIncrementalWritesChangedOnly: an incremental run replaces the rows
// of the (attribute, entity) pairs whose values changed, compared as
// multisets (a custom query may give a value twice), including a value
// that is gone; the rows of unchanged pairs stay as they were written
// (their calculated_at too), and the caches still equal a count of the
// values, as they do after a run from scratch.
func TestIncrementalWritesChangedOnly(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			const yaml = `stitching:
  rules:
    - {identifier: email, event: web/signup, value_expression: "payload->>'email'"}
attributes:
  - {id: tags, type: custom, query: "SELECT payload->>'tag' AS value FROM base"}
  - {id: lonely, type: custom, data_type: int, query: "SELECT count(*) AS value FROM base HAVING count(*) < 2"}
  - {id: first_tag, type: first, value: "payload->>'tag'"}
`
			f := newFixture(t, backend, yaml)
			signup := func(id, email, tag string, minute int) string {
				return fmt.Sprintf(`{"id":%q,"source_id":"web","type":"signup","version":"1","event_time":"2026-02-01T10:%02d:00Z","payload":{"email":%q,"tag":%q}}`, id, minute, email, tag)
			}
			ingest(t, f.s, signup("a1", "a@x", "x", 1), signup("b1", "b@x", "y", 2))
			first := f.clock.t
			f.run(t, attr.RunOptions{})

			ingest(t, f.s, signup("a2", "a@x", "x", 3))
			f.clock.t = f.clock.t.Add(time.Hour)
			if res := f.run(t, attr.RunOptions{}); res.DueEntities != 1 {
				t.Fatalf("%d due entities, want 1", res.DueEntities)
			}
			a, b := f.entityOf(t, "a1"), f.entityOf(t, "b1")
			if got, want := f.values(t, a), map[string][]string{"tags": {"x", "x"}, "first_tag": {"x"}}; !reflect.DeepEqual(got, want) {
				t.Errorf("a's values %v, want %v", got, want)
			}
			if got, want := f.values(t, b), map[string][]string{"tags": {"y"}, "lonely": {"1"}, "first_tag": {"y"}}; !reflect.DeepEqual(got, want) {
				t.Errorf("b's values %v, want %v", got, want)
			}
			f.checkCaches(t)
			// When each row of a was written: tags changed ([x] to [x x]),
			// first_tag did not.
			written := map[string]time.Time{}
			rows, err := f.s.QueryContext(context.Background(), "SELECT attribute_id, calculated_at FROM customer_attributes WHERE entity_id = $1", a)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				var at time.Time
				if err := rows.Scan(&id, &at); err != nil {
					t.Fatal(err)
				}
				written[id] = at
			}
			if !written["first_tag"].Equal(first) || !written["tags"].Equal(f.clock.t) {
				t.Errorf("a's rows written at %v; want first_tag at %v (unchanged), tags at %v", written, first, f.clock.t)
			}
			// A run from scratch over one chunk counts the caches from each
			// attribute's new values (a single-valued one by its rows).
			f.clock.t = f.clock.t.Add(time.Hour)
			f.run(t, attr.RunOptions{FromScratch: true})
			f.checkCaches(t)
		})
	}
}
