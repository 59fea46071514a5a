package attr_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
)

const ordersLine = "  - {id: orders, type: num_of_unique, value: \"id\"}\n"

const conflictYAML = `stitching:
  rules:
    - {identifier: email, event: web/purchase, value_expression: "payload->>'email'"}
attributes:
  - {id: spent, type: sum, value: "(payload->>'total')::numeric"}
  - {id: orders, type: num_of_unique, value: "id"}
`

// holdReader opens a transaction on another connection of the store and
// reads in it, as the job runner's poll or an API read does while a run
// goes on; the returned function ends it.
func holdReader(t *testing.T, s *store.DB) func() {
	t.Helper()
	tx, err := s.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(context.Background(), "SELECT count(*) FROM attribute_state").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return func() { tx.Rollback() } //nolint:errcheck // a read
}

// caches reads an attribute's customers cache (-1 without a row) and the
// sum of its value counts.
func caches(t *testing.T, s *store.DB, id string) (customers, values int64) {
	t.Helper()
	ctx := context.Background()
	customers = -1
	if err := s.QueryRowContext(ctx, "SELECT coalesce(max(customers_count), -1) FROM attribute_customers_cache WHERE attribute_id = $1", id).Scan(&customers); err != nil {
		t.Fatal(err)
	}
	if err := s.QueryRowContext(ctx, "SELECT coalesce(CAST(sum(count) AS BIGINT), 0) FROM attribute_values_counts WHERE attribute_id = $1", id).Scan(&values); err != nil {
		t.Fatal(err)
	}
	return customers, values
}

// TestRunBesideOldReader runs attributes again, every entity over, while
// another connection holds a transaction older than the run: the run
// writes the same keys of the state and the caches again. DuckDB refused
// a key deleted and inserted again while an older transaction might see
// it (Duplicate key "attribute_id: spent"); the run writes them in place.
func TestRunBesideOldReader(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := conflictFixture(t, backend)
			for _, ro := range []attr.RunOptions{{RecalculateAll: true}, {FromScratch: true}, {}} {
				f.clock.t = f.clock.t.Add(time.Hour)
				ingest(t, f.s, rec("p"+f.clock.t.Format("150405"), "purchase", 3, `{"email":"c@x","total":"1"}`))
				end := holdReader(t, f.s)
				res := f.run(t, ro)
				end()
				if ro.RecalculateAll || ro.FromScratch {
					if !res.Attributes[0].Full {
						t.Errorf("%+v: %+v", ro, res.Attributes)
					}
				}
			}
			// a@x, b@x and c@x (three times).
			if c, v := caches(t, f.s, "orders"); c != 3 || v != 3 {
				t.Errorf("orders: customers %d, values %d", c, v)
			}
		})
	}
}

// TestRunFailedRetryKeepsWork makes an attribute run fail after it
// changed values: an attribute removed and added back while a reader
// older than the removal is open. DuckDB refuses to insert the state and
// cache keys deleted by the removal until that reader ends, so the run
// fails (PostgreSQL takes it). The next run, as the job's retry, must not
// find the work done: the attribute added back is calculated for every
// entity and the caches are counted.
func TestRunFailedRetryKeepsWork(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := conflictFixture(t, backend)
			end := holdReader(t, f.s)
			f.attr = engine(t, f, strings.Replace(conflictYAML, ordersLine, "", 1))
			f.run(t, attr.RunOptions{}) // removes orders: its state and caches go
			f.clock.t = f.clock.t.Add(time.Hour)
			ingest(t, f.s, rec("p3", "purchase", 3, `{"email":"c@x","total":"1"}`))
			f.attr = engine(t, f, conflictYAML)
			if _, err := f.stitch.Run(context.Background(), 0); err != nil {
				t.Fatal(err)
			}
			_, failed := f.attr.Run(context.Background(), attr.RunOptions{})
			t.Logf("attempt beside the old reader: %v", failed)
			end()
			res, err := f.attr.Run(context.Background(), attr.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range res.Attributes {
				if a.Status != "ok" {
					t.Errorf("retry: %+v", a)
				}
				if a.ID == "orders" && failed != nil && (!a.Full || a.Entities != 3) {
					t.Errorf("retry found the work done: %+v", a)
				}
			}
			if c, v := caches(t, f.s, "orders"); c != 3 || v != 3 {
				t.Errorf("orders: customers %d, values %d", c, v)
			}
			if c, v := caches(t, f.s, "spent"); c != 3 || v != 3 {
				t.Errorf("spent: customers %d, values %d", c, v)
			}
		})
	}
}

// conflictFixture is a store of conflictYAML with two customers, their
// attributes calculated once.
func conflictFixture(t *testing.T, backend string) *fixture {
	t.Helper()
	f := newFixture(t, backend, conflictYAML)
	ingest(t, f.s, rec("p1", "purchase", 1, `{"email":"a@x","total":"10"}`), rec("p2", "purchase", 2, `{"email":"b@x","total":"7"}`))
	f.run(t, attr.RunOptions{})
	return f
}

// engine is an attribute engine over the fixture's store for a weft.yaml.
func engine(t *testing.T, f *fixture, yaml string) *attr.Engine {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	e, err := attr.New(f.s, cfg.Attributes, cfg.Context, &attr.Options{Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// rec is an NDJSON record of source web at ms after a fixed time.
func rec(id, typ string, ms int, payload string) string {
	return fmt.Sprintf(`{"id":%q,"source_id":"web","type":%q,"version":"1-0-0","event_time":%d,"payload":%s}`, id, typ, 1767323045000+ms, payload)
}
