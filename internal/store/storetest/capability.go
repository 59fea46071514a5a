package storetest

import (
	"context"
	"reflect"
	"strconv"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

var capabilityTests = []test{
	{"SingleWriter", testSingleWriter},
	{"EntityKey", testEntityKey},
	{"ChunkValuesReplace", testChunkValuesReplace},
	{"IndexAfterCopy", testIndexAfterCopy},
	{"JSONExtractOnce", testJSONExtractOnce},
	{"JSONArrayElementsOnce", testJSONArrayElementsOnce},
	{"ArgMinMax", testArgMinMax},
	{"SortedSum", testSortedSum},
	{"SafeCast", testSafeCast},
	{"SetsByJoins", testSetsByJoins},
}

// openDB opens a fresh store of the backend as the façade.
func openDB(t *testing.T, b Backend) *store.DB {
	t.Helper()
	return open(t, b, b.NewLocation(t)).(*store.DB)
}

// openConn takes a connection of s, closed when the test ends.
func openConn(t *testing.T, s *store.DB) *store.Conn {
	t.Helper()
	conn, err := s.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// column reads the rows of a one-column query as text.
func column(t *testing.T, e store.Executor, query string, args ...any) []string {
	t.Helper()
	rows, err := e.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v *string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v == nil {
			out = append(out, "NULL")
		} else {
			out = append(out, *v)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func exec(t *testing.T, e store.Executor, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if _, err := e.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// mapRows maps events of the log to entities by hand, as the stitcher
// writes entity_events: each row with its event's source_id, type and
// event_time. values are (seq, entity id) rows in VALUES form.
func mapRows(t *testing.T, s *store.DB, values string) {
	t.Helper()
	exec(t, s, `INSERT INTO entity_events (event_seq, entity_id, source_id, type, event_time)
		SELECT m.event_seq, m.entity_id, e.source_id, e.type, e.event_time
		FROM (VALUES `+values+`) AS m (event_seq, entity_id) JOIN event_log e ON e.seq = m.event_seq`)
}

// keyRows gives the rows a test inserted by hand into entity_events,
// identifiers and customer_attributes their entity keys, as every writer
// of the store sets them (store.Capabilities.EntityKey).
func keyRows(t *testing.T, s *store.DB) {
	t.Helper()
	if err := store.ComputeEntityKeys(context.Background(), s, s.Capabilities()); err != nil {
		t.Fatal(err)
	}
}

// testSingleWriter: a backend that serves several processes lets a second
// store open the same database and see the first one's writes.
func testSingleWriter(t *testing.T, b Backend) {
	loc := b.NewLocation(t)
	s := open(t, b, loc).(*store.DB)
	if s.Capabilities().SingleWriter() {
		t.Logf("%s is single-writer: one process opens the database", s.Dialect())
		return
	}
	other := open(t, b, loc).(*store.DB)
	appendEvents(t, s, Ev("a", "web", "page_view", t0, `{}`))
	if got := list(t, other, store.EventListParams{}); len(got) != 1 {
		t.Fatalf("second store sees %d events, want 1", len(got))
	}
}

// testEntityKey: the key expression, when there is one, is an integer
// column of customer_attributes computed from entity_id.
func testEntityKey(t *testing.T, b Backend) {
	s := openDB(t, b)
	key := s.Capabilities().EntityKey()
	if key == "" {
		t.Logf("%s has no entity key", s.Dialect())
		return
	}
	exec(t, s, "INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at, entity_key) SELECT 'e1', 'a', 'v', CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ), "+key+" FROM (SELECT 'e1' AS entity_id) x")
	got := column(t, s, "SELECT CAST(count(*) AS TEXT) FROM customer_attributes WHERE entity_key = (SELECT "+key+" FROM (SELECT 'e1' AS entity_id) x) AND entity_key IS NOT NULL")
	if !reflect.DeepEqual(got, []string{"1"}) {
		t.Fatalf("rows found by key: %v", got)
	}
}

// testChunkValuesReplace: the statements read exactly the rows of the
// entities in attr_due (of the attributes named, when named) and delete
// those of the pairs in attr_changed, in a transaction on one connection.
func testChunkValuesReplace(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	caps := s.Capabilities()
	insertAttributeValues(t, s, `SELECT 'e1' AS entity_id, 'a' AS attribute_id, '1' AS value UNION ALL SELECT 'e1', 'b', '2'
		UNION ALL SELECT 'e2', 'a', '3' UNION ALL SELECT 'e3', 'b', '4'`)
	for _, c := range []struct {
		name, attrs string
		// changed are the pairs attr_changed lists (one may have no old
		// rows: its entity had no value before).
		changed    string
		read, left []string
	}{
		{"all attributes", "", "('a', 'e1'), ('b', 'e1')", []string{"a e1 1", "b e1 2"}, []string{"e2 a 3", "e3 b 4"}},
		{"some attributes", " AND attribute_id IN ('b')", "('b', 'e1')", []string{"b e1 2"}, []string{"e1 a 1", "e2 a 3", "e3 b 4"}},
		{"some pairs", "", "('a', 'e1'), ('c', 'e1')", []string{"a e1 1", "b e1 2"}, []string{"e1 b 2", "e2 a 3", "e3 b 4"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := openConn(t, s)
			exec(t, conn, "CREATE TEMP TABLE attr_due (entity_id TEXT NOT NULL)", "INSERT INTO attr_due VALUES ('e1')")
			defer exec(t, conn, "DROP TABLE attr_due")
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback() //nolint:errcheck // the changes are undone for the next case
			rep := caps.ChunkValuesReplace(c.attrs)
			exec(t, tx, rep.Prepare...)
			read := column(t, tx, "SELECT attribute_id || ' ' || entity_id || ' ' || value FROM ("+rep.Read+") r ORDER BY 1")
			if !reflect.DeepEqual(read, c.read) {
				t.Errorf("read %v, want %v", read, c.read)
			}
			exec(t, tx, "CREATE TEMP TABLE attr_changed AS SELECT * FROM (VALUES "+c.changed+") c (attribute_id, entity_id)")
			exec(t, tx, rep.Delete)
			left := column(t, tx, "SELECT entity_id || ' ' || attribute_id || ' ' || value FROM customer_attributes ORDER BY 1")
			if !reflect.DeepEqual(left, c.left) {
				t.Errorf("left %v, want %v", left, c.left)
			}
		})
	}
}

// testIndexAfterCopy: the statements run on a fresh copy, whose rows stay.
func testIndexAfterCopy(t *testing.T, b Backend) {
	s := openDB(t, b)
	conn := openConn(t, s)
	exec(t, conn, "CREATE TEMP TABLE copy_test AS SELECT 'e1' AS entity_id, 1 AS n")
	exec(t, conn, s.Capabilities().IndexAfterCopy("copy_test", "entity_id")...)
	if got := column(t, conn, "SELECT entity_id FROM copy_test WHERE entity_id = 'e1'"); !reflect.DeepEqual(got, []string{"e1"}) {
		t.Fatalf("rows %v", got)
	}
}

// payloads are the documents the JSON fragments are compared over.
var payloads = []string{
	`{"a":"x","b":"Mixed Case","n":12,"items":[{"k":1},{"k":2}],"B":"upper"}`,
	`{"a":null,"n":"12,50","items":[]}`,
	`{"a":{"nested":[1,2]},"items":"not an array"}`,
	`{}`,
	`{"n":1.5,"items":[1,"two",null,{"x":true}]}`,
}

// jsonEvents appends an event per payload (ids p0, p1, ...).
func jsonEvents(t *testing.T, s store.Store) {
	t.Helper()
	evs := make([]store.EventInsert, len(payloads))
	for i, p := range payloads {
		evs[i] = Ev(string(rune('0'+i)), "web", "page_view", t0, p)
		evs[i].ID = "p" + evs[i].ID
	}
	appendEvents(t, s, evs...)
}

// testJSONExtractOnce: the rewritten expressions give the rows the
// original ones give.
func testJSONExtractOnce(t *testing.T, b Backend) {
	s := openDB(t, b)
	jsonEvents(t, s)
	exprs := []string{"payload->>'a'", "lower(payload->>'b')", "payload->>'B'", "coalesce(payload->>'n', payload->>'a')", "payload->>'missing' IS NULL"}
	rewritten, parsed := s.Capabilities().JSONExtractOnce(exprs, "payload")
	from := "event_log"
	if parsed != "" {
		from = "(SELECT *, " + parsed + " FROM event_log) b"
	}
	for i := range exprs {
		want := column(t, s, "SELECT id || ':' || coalesce(CAST(("+exprs[i]+") AS TEXT), 'NULL') FROM event_log ORDER BY id")
		got := column(t, s, "SELECT id || ':' || coalesce(CAST(("+rewritten[i]+") AS TEXT), 'NULL') FROM "+from+" ORDER BY id")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s rewritten as %s: got %v, want %v", exprs[i], rewritten[i], got, want)
		}
	}
}

// testJSONArrayElementsOnce: the rewritten set-returning expression gives
// the original's rows (p2, whose items are no array, is an error on
// PostgreSQL and left out).
func testJSONArrayElementsOnce(t *testing.T, b Backend) {
	s := openDB(t, b)
	jsonEvents(t, s)
	expr := "jsonb_array_elements(payload->'items')"
	rewritten := s.Capabilities().JSONArrayElementsOnce(expr)
	q := func(e string) string {
		return "SELECT id || ':' || CAST(v AS TEXT) FROM (SELECT id, " + e + " AS v FROM event_log WHERE id <> 'p2') x ORDER BY 1"
	}
	want, got := column(t, s, q(expr)), column(t, s, q(rewritten))
	if !reflect.DeepEqual(got, want) || len(want) != 6 {
		t.Errorf("%s rewritten as %s: got %v, want %v (6 rows)", expr, rewritten, got, want)
	}
}

// testArgMinMax: where reported, arg_min and arg_max ordered by a row
// value pick the row of the smallest and largest key.
func testArgMinMax(t *testing.T, b Backend) {
	s := openDB(t, b)
	if !s.Capabilities().ArgMinMax() {
		t.Logf("%s has no arg_min/arg_max", s.Dialect())
		return
	}
	got := column(t, s, `SELECT arg_min(v, (k IS NULL, k, v)) || ' ' || arg_max(v, (k IS NOT NULL, k, v))
		FROM (SELECT 'x' AS v, 2 AS k UNION ALL SELECT 'y', 1 UNION ALL SELECT 'z', NULL) t`)
	if !reflect.DeepEqual(got, []string{"y x"}) {
		t.Fatalf("got %v", got)
	}
}

// testSortedSum: the sum and average of values whose plain sum depends on
// their order are those of the values in ascending order, whatever the
// order of the rows; NULLs are ignored.
func testSortedSum(t *testing.T, b Backend) {
	s := openDB(t, b)
	caps := s.Capabilities()
	// In ascending order: -1e16 + 1 + 1 + 1e16 = 0 (each 1 is lost next to
	// -1e16); in the order of k, a plain sum gives 1.
	for _, order := range []string{"k", "k DESC", "v", "v DESC"} {
		rows := `(SELECT * FROM (SELECT CAST(v AS DOUBLE PRECISION) AS v, k FROM (
			SELECT 1e16 AS v, 1 AS k UNION ALL SELECT 1, 2 UNION ALL SELECT NULL, 3 UNION ALL SELECT -1e16, 4 UNION ALL SELECT 1, 5) x) y ORDER BY ` + order + `) t`
		got := column(t, s, "SELECT CAST("+caps.SortedSum("sum", "v")+" = 0 AS TEXT) || ' ' || CAST("+caps.SortedSum("avg", "v")+" = 0 AS TEXT) FROM "+rows)
		if !reflect.DeepEqual(got, []string{"true true"}) {
			t.Fatalf("rows by %s: got %v", order, got)
		}
	}
}

// testSetsByJoins: where the engine evaluates sets by joins, NOT IN over
// a subquery keeps the rows whose value the subquery does not give,
// duplicates and all, and every row against no rows.
func testSetsByJoins(t *testing.T, b Backend) {
	s := openDB(t, b)
	if !s.Capabilities().SetsByJoins() {
		t.Logf("%s evaluates sets by set operations", s.Dialect())
		return
	}
	got := column(t, s, `SELECT t.v FROM (SELECT 'a' AS v UNION ALL SELECT 'b' UNION ALL SELECT 'd' UNION ALL SELECT 'a') t
		WHERE t.v NOT IN (SELECT v FROM (SELECT 'b' AS v UNION ALL SELECT 'b' UNION ALL SELECT 'c') x) ORDER BY t.v`)
	if !reflect.DeepEqual(got, []string{"a", "a", "d"}) {
		t.Fatalf("got %v", got)
	}
	if got := column(t, s, "SELECT CAST(count(*) AS TEXT) FROM (SELECT 'a' AS v) t WHERE t.v NOT IN (SELECT 'x' AS v WHERE FALSE)"); !reflect.DeepEqual(got, []string{"1"}) {
		t.Fatalf("against no rows: got %v", got)
	}
}

// testSafeCast: the safe form of a cast converts what converts and gives
// NULL for what does not, where the cast itself fails with an error that
// ConversionError recognises; a cast to a type it does not handle is left
// to the caller, and other errors are no conversion errors.
func testSafeCast(t *testing.T, b Backend) {
	s := openDB(t, b)
	caps := s.Capabilities()
	cases := []struct{ value, typ, want string }{
		{"'12.5'", "numeric", "12.5"}, {"'12,50'", "numeric", "NULL"}, {"'7'", "integer", "7"},
		{"'99999999999'", "integer", "NULL"}, {"'1e3'", "double precision", "1000"}, {"'x'", "double precision", "NULL"},
		{"'true'", "boolean", "true"}, {"'maybe'", "boolean", "NULL"}, {"'2026-02-03'", "date", "2026-02-03"},
		{"'2026-02-30'", "date", "NULL"}, {"'2026-02-03 04:05:06'", "timestamp", "2026-02-03 04:05:06"},
		{"'yesterday-ish'", "timestamp", "NULL"}, {"NULL", "numeric", "NULL"},
	}
	for _, c := range cases {
		safe, ok := caps.SafeCast(c.value, c.typ)
		if !ok {
			t.Fatalf("SafeCast(%s, %s) refused", c.value, c.typ)
		}
		got := column(t, s, "SELECT CAST(("+safe+") AS TEXT)")
		if len(got) == 1 && got[0] != c.want {
			// 12.500 and 12.5, 1000.0 and 1000 are the same number.
			g, errg := strconv.ParseFloat(got[0], 64)
			w, errw := strconv.ParseFloat(c.want, 64)
			if errg == nil && errw == nil && g == w {
				got = []string{c.want}
			}
		}
		if !reflect.DeepEqual(got, []string{c.want}) {
			t.Errorf("%s: got %v, want %s", safe, got, c.want)
		}
		if c.want == "NULL" && c.value != "NULL" {
			_, err := s.ExecContext(context.Background(), "SELECT CAST(CAST("+c.value+" AS TEXT) AS "+c.typ+")")
			if err == nil || !caps.ConversionError(err) {
				t.Errorf("CAST(%s AS %s): %v, want a conversion error", c.value, c.typ, err)
			}
		}
	}
	if _, ok := caps.SafeCast("'x'", "text"); ok {
		t.Errorf("SafeCast rewrote a cast to text")
	}
	_, err := s.ExecContext(context.Background(), "SELECT no_such_column FROM event_log")
	if err == nil || caps.ConversionError(err) {
		t.Errorf("an unknown column: %v, reported as a conversion error", err)
	}
}
