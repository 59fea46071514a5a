package erasure_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// weftYAML stitches web cookies, e-mails and the delivery logs' anonymous
// ids, and calculates attributes, one of which holds the e-mail.
const weftYAML = `
stitching:
  rules:
    - {identifier: cookie_id, event: web/*, value_expression: "payload->>'cookie_id'"}
    - {identifier: email, event: web/signup, value_expression: "lower(trim(payload->>'email'))"}
    - {identifier: email, event: shop/purchase, value_expression: "lower(trim(payload->>'email'))"}
    - {identifier: cookie_id, event: delivery/*, value_expression: "payload->'userInfo'->>'anonUserId'"}
attributes:
  - {id: email, type: most_frequent, types: [signup], value: "lower(payload->>'email')"}
  - {id: orders, type: custom, data_type: int, query: "SELECT count(*) AS value FROM base WHERE type = 'purchase'"}
  - {id: category, type: most_frequent, types: [page_view], value: "payload->>'category'"}
`

// fixture is a store with two people: alice (two cookies, merged through
// her e-mail, a purchase, a delivery log, plugin data) and bob.
type fixture struct {
	db    *store.DB
	p     *pipeline.Pipeline
	in    *event.Ingester
	alice string // her unique e-mail
	bob   string
	// aliceID is her live entity, aliceIDs every entity she was.
	aliceID  string
	aliceIDs []string
	bobID    string
}

var seq int

func record(source, typ string, payload string) string {
	seq++
	return fmt.Sprintf(`{"id": "ev-%d", "source_id": %q, "type": %q, "version": "1", "event_time": "%s", "payload": %s}`,
		seq, source, typ, time.Date(2026, 1, 1, 0, 0, seq, 0, time.UTC).Format(time.RFC3339), payload)
}

func newFixture(t *testing.T, backend string) *fixture {
	t.Helper()
	return newFixtureOn(t, dbtest.Open(t, backend))
}

func newFixtureOn(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	p, err := pipeline.New(ctx, db, pipeline.Options{StitchInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(ctx, []byte(weftYAML)); err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().UnixNano()
	f := &fixture{db: db, p: p,
		alice: fmt.Sprintf("alice-%d@example.com", stamp), bob: fmt.Sprintf("bob-%d@example.com", stamp)}
	f.in = event.NewIngester(db, &event.IngesterOpts{Suppress: erasure.NewSuppressor(db, p.StitchingRules).DropQuery})
	f.ingest(t,
		record("web", "page_view", `{"cookie_id": "ck-alice-1", "category": "shoes"}`),
		record("web", "page_view", `{"cookie_id": "ck-alice-2", "category": "hats"}`),
	)
	// Two entities first: her e-mail merges them in a later pass.
	f.stitchAndCalculate(t)
	f.ingest(t,
		record("web", "signup", `{"cookie_id": "ck-alice-1", "email": "`+f.alice+`"}`),
		record("web", "signup", `{"cookie_id": "ck-alice-2", "email": " `+strings.ToUpper(f.alice)+`"}`),
		record("shop", "purchase", `{"email": "`+f.alice+`", "total": 12}`),
		record("delivery", "impression", `{"userInfo": {"anonUserId": "ck-alice-1"}, "contentId": "c1"}`),
		record("web", "page_view", `{"cookie_id": "ck-bob", "category": "shoes"}`),
		record("web", "signup", `{"cookie_id": "ck-bob", "email": "`+f.bob+`"}`),
		record("shop", "purchase", `{"email": "`+f.bob+`", "total": 7}`),
	)
	f.stitchAndCalculate(t)
	// From scratch: the caches then count every attribute exactly.
	if _, err := p.Attributes(ctx, attr.RunOptions{FromScratch: true}); err != nil {
		t.Fatal(err)
	}
	if f.aliceID, err = db.EntityFind(ctx, "email", f.alice); err != nil {
		t.Fatal(err)
	}
	if f.bobID, err = db.EntityFind(ctx, "email", f.bob); err != nil {
		t.Fatal(err)
	}
	merges, err := db.EntityMerges(ctx, f.aliceID)
	if err != nil {
		t.Fatal(err)
	}
	f.aliceIDs = []string{f.aliceID}
	for _, m := range merges {
		f.aliceIDs = append(f.aliceIDs, m.Loser)
	}
	if len(f.aliceIDs) != 2 {
		t.Fatalf("alice is %v, want two merged entities", f.aliceIDs)
	}
	// Plugin data: a published property, staged values and a dataset's
	// users and values, for both people.
	for _, q := range []string{
		`INSERT INTO plugin_properties VALUES ('prop1', 'churn', 'run1', 'score', 'churn', 'number', 2, CURRENT_TIMESTAMP)`,
		`INSERT INTO plugin_property_values VALUES ('prop1', '` + f.aliceID + `', '0.9'), ('prop1', '` + f.bobID + `', '0.1')`,
		`INSERT INTO plugin_property_staging VALUES ('run2', 1, 1, 'score', '` + f.aliceIDs[1] + `', '0.8'), ('run2', 1, 2, 'score', '` + f.bobID + `', '0.2')`,
		`INSERT INTO plugin_dataset_users VALUES ('run2', 'd', '` + f.aliceID + `', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), ('run2', 'd', '` + f.bobID + `', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
		`INSERT INTO plugin_dataset_values VALUES ('run2', 'd', 0, '` + f.aliceID + `', '` + f.alice + `'), ('run2', 'd', 0, '` + f.bobID + `', '` + f.bob + `')`,
		// What identity repair keeps about her: a refused link, a split
		// and the constraints an operator added.
		`INSERT INTO stitch_refused SELECT '` + f.aliceID + `', min(event_seq), 'email', '` + f.alice + `', 'max_per_entity', 0 FROM entity_events WHERE entity_id = '` + f.aliceID + `'`,
		`INSERT INTO stitch_splits VALUES ('` + f.aliceIDs[1] + `', '["` + f.aliceID + `"]', 'email', '` + f.alice + `', NULL, NULL, CURRENT_TIMESTAMP)`,
		`INSERT INTO stitch_constraints VALUES ('c1', 'block', '{"category":"email","value":"` + f.alice + `"}', 'ops', CURRENT_TIMESTAMP),
		    ('c2', 'split', '{"entity":"` + f.aliceID + `","identifiers":[{"category":"cookie_id","value":"ck-alice-1"}]}', 'ops', CURRENT_TIMESTAMP)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return f
}

func (f *fixture) ingest(t *testing.T, lines ...string) *event.Result {
	t.Helper()
	b, err := event.Decode(strings.NewReader(strings.Join(lines, "\n")), event.FormatNDJSON)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rejected) > 0 {
		t.Fatalf("rejected: %v", b.Rejected[0])
	}
	res, err := f.in.Ingest(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) stitchAndCalculate(t *testing.T) {
	t.Helper()
	if _, err := f.p.Stitch(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Attributes(context.Background(), attr.RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

// traces returns, for every table and view, the rows that contain one of
// the needles, as text.
func traces(t *testing.T, db *store.DB, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	// Temporary tables are left out: they are scratch space of one
	// connection, in memory, never in the database files.
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema IN ('main', 'public') AND table_catalog <> 'temp' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 20 {
		t.Fatalf("only %d tables: %v", len(tables), tables)
	}
	var found []string
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+table)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					vals[i] = string(b)
				}
			}
			line := fmt.Sprintf("%s: %v", table, vals)
			for _, n := range needles {
				if strings.Contains(strings.ToLower(line), strings.ToLower(n)) {
					found = append(found, line)
					break
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return found
}

// cacheMismatch compares the attribute caches with a count of the values.
func cacheMismatch(t *testing.T, db *store.DB) string {
	t.Helper()
	var n int
	err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM (
		SELECT attribute_id, value, count FROM attribute_values_counts
		EXCEPT SELECT attribute_id, value, count(*) FROM customer_attributes GROUP BY attribute_id, value) x`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	var m int
	err = db.QueryRowContext(context.Background(), `SELECT count(*) FROM (
		SELECT attribute_id, value, count(*) FROM customer_attributes GROUP BY attribute_id, value
		EXCEPT SELECT attribute_id, value, count FROM attribute_values_counts) x`).Scan(&m)
	if err != nil {
		t.Fatal(err)
	}
	var c int
	err = db.QueryRowContext(context.Background(), `SELECT count(*) FROM attribute_customers_cache a
		WHERE customers_count <> (SELECT count(DISTINCT entity_id) FROM customer_attributes v WHERE v.attribute_id = a.attribute_id)`).Scan(&c)
	if err != nil {
		t.Fatal(err)
	}
	if n+m+c > 0 {
		return fmt.Sprintf("%d value counts differ from the values, %d values are not counted, %d customer counts differ", n, m, c)
	}
	return ""
}

func TestErase(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, backend)
			if found := traces(t, f.db, f.alice); len(found) == 0 {
				t.Fatal("the fixture holds no trace of alice: the test would prove nothing")
			}
			bobBefore, err := f.db.AttributeValuesOf(ctx, []string{f.bobID})
			if err != nil {
				t.Fatal(err)
			}
			if len(bobBefore[f.bobID]) < 3 {
				t.Fatalf("bob has attributes %v", bobBefore)
			}
			if msg := cacheMismatch(t, f.db); msg != "" {
				t.Fatalf("before: %s", msg)
			}
			customersBefore, _, err := f.db.AttributeValueCounts(ctx, "email", 10)
			if err != nil {
				t.Fatal(err)
			}

			// Erasing by the merged entity's id erases the live one too.
			res, err := erasure.Erase(ctx, f.db, []string{f.aliceIDs[1]})
			if err != nil {
				t.Fatal(err)
			}
			// Four identifiers: two cookies, the e-mail, and the delivery
			// log's anonymous id (a category of the derived delivery rules).
			if res.Entities != 2 || res.Events != 6 || res.DeliveryLogs != 1 || res.Suppressed != 4 || res.Properties != 1 || res.PluginRows != 3 {
				t.Errorf("result %+v, want 2 entities, 6 events, 1 delivery log, 4 suppressed, 1 property, 3 plugin rows", res)
			}
			if res.Identifiers != 4 || res.AttributeValues != 3 {
				t.Errorf("result %+v, want 4 identifiers and 3 attribute values", res)
			}
			needles := append([]string{f.alice, "ck-alice-1", "ck-alice-2"}, f.aliceIDs...)
			if found := traces(t, f.db, needles...); len(found) > 0 {
				t.Errorf("traces of alice after the erasure:\n%s", strings.Join(found, "\n"))
			}
			for _, id := range f.aliceIDs {
				if _, err := f.db.EntityGet(ctx, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("EntityGet(%s): %v, want not found", id, err)
				}
			}
			if _, err := f.db.EntityFind(ctx, "email", f.alice); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("EntityFind(alice): %v, want not found", err)
			}
			// Bob is untouched; the caches match the values left.
			bobAfter, err := f.db.AttributeValuesOf(ctx, []string{f.bobID})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(bobBefore, bobAfter) {
				t.Errorf("bob's attributes changed: %v, then %v", bobBefore, bobAfter)
			}
			if msg := cacheMismatch(t, f.db); msg != "" {
				t.Error(msg)
			}
			total, counts, err := f.db.AttributeValueCounts(ctx, "email", 10)
			if err != nil {
				t.Fatal(err)
			}
			if customersBefore != 2 || total != 1 || len(counts) != 1 || counts[0].Value != f.bob {
				t.Errorf("email values: %d customers %v, want %d and only bob", total, counts, customersBefore-1)
			}
			props, err := f.db.PropertyValuesOf(ctx, []string{f.bobID})
			if err != nil || len(props[f.bobID]) != 1 {
				t.Errorf("bob's properties %v, %v", props, err)
			}
			if found := traces(t, f.db, f.bob, "ck-bob"); len(found) < 5 {
				t.Errorf("bob's traces: %v", found)
			}
			// The mappings left carry their events' source, type and time
			// (the segments' event conditions read them there).
			var unlike int
			if err := f.db.QueryRowContext(ctx, f.db.Query("StitchMappingsUnlikeLog")).Scan(&unlike); err != nil || unlike != 0 {
				t.Errorf("%d event mappings unlike the log after the erasure (%v)", unlike, err)
			}

			// Later events carrying her identifiers are dropped at ingest,
			// however the e-mail is written; bob's are kept.
			in := f.ingest(t,
				record("web", "page_view", `{"cookie_id": "ck-alice-1"}`),
				record("shop", "purchase", `{"email": "  `+strings.ToUpper(f.alice)+`"}`),
				record("web", "page_view", `{"cookie_id": "ck-bob"}`),
				record("web", "page_view", `{"cookie_id": "ck-new"}`),
			)
			if in.Accepted != 2 || in.Suppressed != 2 || in.Duplicates != 0 {
				t.Errorf("ingest after the erasure: %+v, want 2 accepted and 2 suppressed", in)
			}
			f.stitchAndCalculate(t)
			if found := traces(t, f.db, needles...); len(found) > 0 {
				t.Errorf("traces of alice after ingesting her again:\n%s", strings.Join(found, "\n"))
			}
			if msg := cacheMismatch(t, f.db); msg != "" {
				t.Error(msg)
			}

			// Again: nothing left to do, nothing fails.
			again, err := erasure.Erase(ctx, f.db, f.aliceIDs)
			if err != nil {
				t.Fatal(err)
			}
			if again.Entities != 0 || again.Events != 0 || again.Suppressed != 0 {
				t.Errorf("a second erasure erased %+v", again)
			}
		})
	}
}

// TestEraseUnstitched: events that arrived before the erasure and were not
// stitched yet are deleted too, so stitching cannot build the person again.
func TestEraseUnstitched(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, backend)
			f.ingest(t,
				record("web", "page_view", `{"cookie_id": "ck-alice-2", "category": "late"}`),
				record("web", "page_view", `{"cookie_id": "ck-other"}`),
			)
			res, err := erasure.Erase(ctx, f.db, []string{f.aliceID})
			if err != nil {
				t.Fatal(err)
			}
			if res.Unstitched != 1 {
				t.Errorf("unstitched %d, want 1", res.Unstitched)
			}
			f.stitchAndCalculate(t)
			if found := traces(t, f.db, f.alice, "ck-alice-1", "ck-alice-2"); len(found) > 0 {
				t.Errorf("traces of alice:\n%s", strings.Join(found, "\n"))
			}
			if _, err := f.db.EntityFind(ctx, "cookie_id", "ck-other"); err != nil {
				t.Errorf("the other unstitched event: %v", err)
			}
		})
	}
}

// TestEraseResume: an erasure interrupted between its transactions is
// finished by the next Erase, even one given no entities.
func TestEraseResume(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			// Not parallel: the chunk hook is the package's.
			f := newFixture(t, backend)
			ctx, cancel := context.WithCancel(context.Background())
			restore := erasure.SetChunkHook(1, cancel)
			_, err := erasure.Erase(ctx, f.db, []string{f.aliceID})
			restore()
			// pgx reports a cancelled statement as a bad connection.
			if err == nil || ctx.Err() == nil {
				t.Fatalf("interrupted erasure: %v, want cancelled", err)
			}
			pending := countRows(t, f, "SELECT count(*) FROM erasure_pending")
			left := countRows(t, f, "SELECT count(*) FROM entities WHERE id IN ($1, $2)", f.aliceIDs[0], f.aliceIDs[1])
			if pending != 2 || left != 1 {
				t.Fatalf("after the interruption: %d pending, %d of alice's entities left; want 2 and 1", pending, left)
			}
			res, err := erasure.Erase(context.Background(), f.db, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Entities != 1 {
				t.Errorf("the resumed erasure erased %+v, want the one entity left", res)
			}
			if found := traces(t, f.db, append([]string{f.alice, "ck-alice-1", "ck-alice-2"}, f.aliceIDs...)...); len(found) > 0 {
				t.Errorf("traces of alice:\n%s", strings.Join(found, "\n"))
			}
			if msg := cacheMismatch(t, f.db); msg != "" {
				t.Error(msg)
			}
		})
	}
}
