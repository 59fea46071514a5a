package sqlrewrite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/sqlrewrite"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The differential tests run each original statement and its rewrite on
// DuckDB and PostgreSQL over the same events and require the same rows.
// Plain go test runs the seeds; go test -fuzz=FuzzGrouped (or another
// target) explores further. An original that fails (the fuzzer's input is
// no valid SQL) is skipped; a rewrite that fails where its original ran
// is a finding.

// payloads are the events' documents: keys in several cases, nulls,
// numbers, nested values, quotes; items is an array or missing (a scalar
// there is an error on PostgreSQL for the original statement).
var payloads = []string{
	`{"url":"https://a.example/x","email":" Ana@X.io ","total":"12.5","n":3,"items":[{"k":1},{"k":2}],"a":"x","b":"B"}`,
	`{"url":"https://a.example/y","email":null,"total":"7","n":1.25,"items":[],"A":"upper","a":"y"}`,
	`{"url":"/z","total":"12,50","n":-2,"items":[1,"two",null,{"x":true}],"a":{"nested":[1,2]},"b":"it's"}`,
	`{"url":"https://b.example/","n":0,"a":"x","b":""}`,
	`{}`,
	`{"email":"bob@example.com","total":"100","items":[{"k":3}],"a":null,"b":"ünï"}`,
	`{"url":"https://a.example/x","n":7,"items":[{"k":1}],"a":"z"}`,
}

// differential is a store of each backend holding the events of payloads
// in fz_events (entity_id u0..u2) and the entities u0..u3 in fz_due (u3
// has no events).
type differential struct {
	backend string
	db      *store.DB
}

func openDifferential(f testing.TB) []differential {
	f.Helper()
	ctx := context.Background()
	var out []differential
	for _, b := range dbtest.Backends {
		db := dbtest.Open(f, b)
		evs := make([]store.EventInsert, len(payloads))
		types := []string{"page_view", "purchase", "form_submit"}
		for i, p := range payloads {
			evs[i] = store.EventInsert{
				ID:           fmt.Sprintf("ev%d", i),
				EventTypeKey: store.EventTypeKey{SourceID: []string{"web", "shop"}[i%2], Type: types[i%3], Version: "1-0-0"},
				EventTime:    time.Date(2026, 1, 1, i, 0, 0, 0, time.UTC),
				Payload:      json.RawMessage(p),
			}
		}
		if _, err := db.EventAppendMany(ctx, &store.EventAppendManyParams{Events: evs}); err != nil {
			f.Fatal(err)
		}
		for _, q := range []string{
			"CREATE TABLE fz_events AS SELECT 'u' || CAST(seq % 3 AS TEXT) AS entity_id, id, source_id, type, version, event_time, payload FROM event_log",
			"CREATE TABLE fz_due AS SELECT 'u' || CAST(n AS TEXT) AS entity_id FROM (VALUES (0), (1), (2), (3)) v(n)",
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				f.Fatal(err)
			}
		}
		out = append(out, differential{backend: b, db: db})
	}
	return out
}

// rows runs q and returns its rows as text, sorted (set-returning
// expressions have no order of their own).
func rows(db *store.DB, q string) ([]string, error) {
	r, err := db.QueryContext(context.Background(), q)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cols, err := r.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	vals := make([]*string, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for r.Next() {
		if err := r.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := ""
		for _, v := range vals {
			if v == nil {
				row += "\x00NULL"
			} else {
				row += "\x00" + *v
			}
		}
		out = append(out, row)
	}
	slices.Sort(out)
	return out, r.Err()
}

// same compares rows, numbers within a relative 1e-9: a sum of doubles
// grouped in another order may differ in its last bits.
func same(a, b []string) bool { return slices.EqualFunc(a, b, sameNumbers) }

// sameNumbers compares two rows field by field, as numbers where both
// fields are.
func sameNumbers(x, y string) bool {
	fx, fy := splitRow(x), splitRow(y)
	if len(fx) != len(fy) {
		return false
	}
	for i := range fx {
		if fx[i] == fy[i] {
			continue
		}
		a, erra := strconv.ParseFloat(fx[i], 64)
		b, errb := strconv.ParseFloat(fy[i], 64)
		if erra != nil || errb != nil || math.Abs(a-b) > 1e-9*math.Max(math.Abs(a), math.Abs(b)) {
			return false
		}
	}
	return true
}

func splitRow(r string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(r); i++ {
		if i == len(r) || r[i] == 0 {
			if i > 0 {
				out = append(out, r[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// check runs the original and the rewritten statement of each backend.
func check(t *testing.T, ds []differential, statements func(d differential) (original, rewritten string, ok bool)) {
	for _, d := range ds {
		original, rewritten, ok := statements(d)
		if !ok {
			continue
		}
		want, err := rows(d.db, original)
		if err != nil {
			continue // not valid SQL there: nothing to compare
		}
		got, err := rows(d.db, rewritten)
		if err != nil {
			t.Errorf("%s: the rewrite fails where the original runs: %v\noriginal:  %s\nrewritten: %s", d.backend, err, original, rewritten)
			continue
		}
		if !same(got, want) {
			t.Errorf("%s: rows differ\noriginal:  %s\n  %q\nrewritten: %s\n  %q", d.backend, original, want, rewritten, got)
		}
	}
}

// FuzzGrouped: a custom query that GroupedForm accepts gives each entity
// the same value grouped as in the per-entity LATERAL join attr runs
// otherwise, entities without events included.
func FuzzGrouped(f *testing.F) {
	for _, q := range []string{
		"SELECT count(*) AS value FROM base",
		"SELECT count(*) AS value FROM base WHERE type = 'page_view'",
		"select COUNT(*) as VALUE from BASE where source_id = 'shop' AND type = 'purchase'",
		"SELECT sum(CAST(payload->>'n' AS DOUBLE PRECISION)) + 1 AS value FROM base WHERE base.type IN ('purchase', 'page_view')",
		"SELECT count(*) FILTER (WHERE type = 'purchase') AS value FROM base",
		"SELECT max(event_time) AS value FROM base WHERE type = 'group by; limit 1' AND source_id <> 'it''s, from x'",
		"SELECT sum(length(type)) AS value FROM base WHERE source_id = 'shop'",
		"SELECT count(*) + 100 AS value FROM base WHERE type = 'no such type'",
		"SELECT min(payload->>'url') AS value FROM base",
		"SELECT avg(CAST(payload->>'n' AS DOUBLE PRECISION)) AS value FROM base WHERE payload->>'n' IS NOT NULL",
		"SELECT count(DISTINCT payload->>'a') AS value FROM base",
		"SELECT max(id) AS value FROM base WHERE event_time > CAST('2026-01-01 02:00:00+00' AS TIMESTAMPTZ)",
	} {
		f.Add(q)
	}
	ds := openDifferential(f)
	f.Fuzz(func(t *testing.T, q string) {
		rewritten, ok := sqlrewrite.Grouped(q, "fz_due", "fz_events e", "e.entity_id", func(v string) string { return v })
		if !ok {
			return
		}
		original := `SELECT entity_id, CAST(tv AS TEXT) AS value FROM (
  SELECT due.entity_id, CAST(q.value AS TEXT) AS tv
  FROM fz_due due, LATERAL (
    WITH base AS (
      SELECT e.id, e.source_id, e.type, e.version, e.event_time, e.payload
      FROM fz_events e WHERE e.entity_id = due.entity_id
    )
    ` + q + `
  ) q
) c WHERE tv IS NOT NULL`
		check(t, ds, func(differential) (string, string, bool) { return original, rewritten, true })
	})
}

// FuzzJSONExtractOnce: expressions over payload give the same rows with
// the backend's extraction rewrite (DuckDB's json_transform, ExtractOnce
// and ParseOnce) as written.
func FuzzJSONExtractOnce(f *testing.F) {
	for _, e := range []string{
		"payload->>'url'",
		"lower(trim(payload->>'email'))",
		"payload->>'email' IS NOT NULL AND payload ->> 'url' = 'https://a.example/x'",
		"coalesce(payload->>'a', payload->>'b', payload->>'a')",
		"CAST((payload->>'n') AS DOUBLE PRECISION)",
		"CASE WHEN payload->>'a' = 'x' THEN payload->>'b' END",
		"payload->>'A'",
		"payload->>'a' || '-' || payload->>'A'",
		"(payload->>'n')::numeric",
		"payload->>'items'",
		"payload->>'missing'",
		"payload->>'n'::int",
		"'x' || payload->>'a'",
		"payload->'items'",
		"payload->>'a'->>'b'",
	} {
		f.Add(e)
	}
	ds := openDifferential(f)
	f.Fuzz(func(t *testing.T, expr string) {
		check(t, ds, func(d differential) (string, string, bool) {
			rw, parsed := d.db.Capabilities().JSONExtractOnce([]string{expr}, "payload")
			from := "fz_events"
			if parsed != "" {
				from = "(SELECT *, " + parsed + " FROM fz_events) b"
			}
			return "SELECT id, CAST((" + expr + ") AS TEXT) FROM fz_events",
				"SELECT id, CAST((" + rw[0] + ") AS TEXT) FROM " + from, true
		})
	})
}

// FuzzJSONArrayElementsOnce: a set-returning value gives the same rows
// with the backend's array rewrite (DuckDB's unnest(json_extract(...))).
func FuzzJSONArrayElementsOnce(f *testing.F) {
	for _, e := range []string{
		"jsonb_array_elements(payload->'items')",
		"json_array_elements(payload->'items')",
		"JSONB_ARRAY_ELEMENTS( payload -> 'items' )",
		"jsonb_array_elements(payload->'items')->>'k'",
		"jsonb_array_elements(payload->'missing')",
		"jsonb_array_elements_text(payload->'items')",
	} {
		f.Add(e)
	}
	ds := openDifferential(f)
	f.Fuzz(func(t *testing.T, expr string) {
		check(t, ds, func(d differential) (string, string, bool) {
			rw := d.db.Capabilities().JSONArrayElementsOnce(expr)
			q := func(e string) string {
				return "SELECT id, CAST(v AS TEXT) FROM (SELECT id, " + e + " AS v FROM fz_events) x"
			}
			return q(expr), q(rw), true
		})
	})
}

// safeCastSeeds are expressions with casts over the payloads; ev2's total
// ("12,50") does not convert to a number.
var safeCastSeeds = []string{
	"(payload->>'total')::numeric",
	"CAST(payload->>'total' AS DOUBLE PRECISION) * 2",
	"(payload->>'total')::numeric(10,2)",
	"coalesce((payload->>'total')::float, -1)",
	"CAST(CAST(payload->>'n' AS TEXT) AS DECIMAL)",
	"((payload->>'n')::numeric)::text",
	"(payload->>'email')::text",
	"'2026-01-0' || CAST(length(id) AS TEXT)",
	"CAST('2026-01-0' || CAST(length(id) AS TEXT) AS DATE)",
	"('2026-01-01 10:00:0' || CAST(length(id) AS TEXT))::timestamp",
	"(payload->>'a' = 'x')::int",
	"length(id)::bool",
	"'12'::int + length(id)",
	"(length(id) > 2)::integer",
	"CAST(payload->>'total' AS INTEGER) /* a::int */ -- b::int",
	"(payload->'n')::numeric",
	"case when payload->>'a' = 'x' then (payload->>'total')::numeric end",
}

// FuzzSafeCasts: on data that converts, expressions give the same rows
// with the backend's safe casts (SafeCasts with Capabilities.SafeCast) as
// written.
func FuzzSafeCasts(f *testing.F) {
	for _, e := range safeCastSeeds {
		f.Add(e)
	}
	ds := openDifferential(f)
	f.Fuzz(func(t *testing.T, expr string) {
		check(t, ds, func(d differential) (string, string, bool) {
			rw, _ := sqlrewrite.SafeCasts(expr, d.db.Capabilities().SafeCast)
			q := func(e string) string { return "SELECT id, CAST((" + e + ") AS TEXT) FROM fz_events WHERE id <> 'ev2'" }
			return q(expr), q(rw), true
		})
	})
}

// TestSafeCastsOnBadData: the rewrite runs where the original fails on a
// value that does not convert, that value NULL, and its failure condition
// finds that event alone.
func TestSafeCastsOnBadData(t *testing.T) {
	ctx := context.Background()
	for _, d := range openDifferential(t) {
		caps := d.db.Capabilities()
		for _, expr := range []string{"(payload->>'total')::numeric", "CAST(payload->>'total' AS DOUBLE PRECISION) * 2"} {
			_, err := d.db.ExecContext(ctx, "SELECT CAST(("+expr+") AS TEXT) FROM fz_events")
			if !caps.ConversionError(err) {
				t.Errorf("%s: %s: %v, want a conversion error", d.backend, expr, err)
			}
			rw, failed := sqlrewrite.SafeCasts(expr, caps.SafeCast)
			if len(failed) != 1 {
				t.Fatalf("%s: %s: %q %q", d.backend, expr, rw, failed)
			}
			got, err := rows(d.db, "SELECT id FROM fz_events WHERE ("+rw+") IS NULL AND "+failed[0])
			if err != nil || !slices.Equal(got, []string{"\x00ev2"}) {
				t.Errorf("%s: %s: failed where %q, %v", d.backend, rw, got, err)
			}
		}
	}
}
