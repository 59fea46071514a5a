package segment_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	. "github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// hostilePurchases are payloads of purchases whose fields a copy could
// get wrong: a field missing, JSON null, a number where a string is
// expected and the reverse, nested values, a control character (NUL is refused at
// ingest), unicode, an escaped key,
// keys differing in case only, a key that is no identifier, a duplicate
// key, numbers in several spellings, more decimals than ::numeric keeps
// (DuckDB's DECIMAL(18,3) rounds them). Every total casts to numeric.
var hostilePurchases = []string{
	`{"email":%q,"total":"12.5","channel":"app"}`,
	`{"email":%q,"total":null,"channel":null}`,
	`{"email":%q}`,
	`{"email":%q,"total":1e2,"channel":"APP"}`,
	`{"email":%q,"total":7,"channel":{"nested":"app"}}`,
	`{"email":%q,"total":1.50,"channel":["app"]}`,
	`{"email":%q,"total":-0,"channel":"a\u0007pp"}`,
	`{"email":%q,"total":300,"channel":"äpp ü"}`,
	`{"email":%q,"total":12345678901,"\u0063hannel":"app"}`,
	`{"email":%q,"total":150,"Channel":"app","channel":"web"}`,
	`{"email":%q,"total":99.99,"my key":"app","channel":"app"}`,
	`{"email":%q,"total":120,"channel":"app","channel":"web"}`,
	`{"email":%q,"total":"250","channel":true}`,
	`{"email":%q,"total":42,"channel":""}`,
	`{"email":%q,"total":"12.3456","channel":"app"}`,
	`{"email":%q,"total":0.0005,"channel":"web"}`,
	`{"email":%q,"total":" 17 ","channel":"web"}`,
}

// fieldConditions are the conditions compared: most read only payload
// fields (the copy answers them), some read more (the log does).
var fieldConditions = []Condition{
	{Event: "shop/purchase", Last: "365d", Where: "payload->>'channel' = 'app'", Count: &Count{Op: OpGe, Value: 1}},
	{Event: "shop/purchase", Last: "365d", Where: "payload->>'channel' IS NULL", Count: &Count{Op: OpGe, Value: 1}},
	{Event: "shop/purchase", Last: "365d", Where: "payload->>'channel' IS DISTINCT FROM 'web'", Count: &Count{Op: OpGe, Value: 2}},
	{Event: "shop/purchase", Last: "365d", Where: "payload->>'Channel' = 'app'", Count: &Count{Op: OpGe, Value: 1}},
	{Event: "shop/purchase", Last: "365d", Where: "length(payload->>'channel') > 3 OR (payload->>'channel' LIKE '%{%')", Count: &Count{Op: OpGe, Value: 1}},
	{Event: "shop/purchase", Last: "365d", Where: "payload->>'no_such_key' IS NULL", Count: &Count{Op: OpGe, Value: 3}},
	{Event: "shop/purchase", Last: "365d", Where: "payload->>'no_such_key' = 'x'", Count: &Count{Op: OpLt, Value: 1}},
	{Event: "shop/purchase", Last: "365d", Where: "payload->>'coupon' = 'SAVE'", Count: &Count{Op: OpGe, Value: 1}},
	{Event: "shop/purchase", Last: "365d", Where: "payload->>'channel' = 'app'", Sum: &Comparison{Field: "(payload->>'total')::numeric", Op: OpGe, Value: 100}},
	{Event: "shop/purchase", Last: "365d", Sum: &Comparison{Field: "coalesce((payload->>'total')::numeric, 0) + length(coalesce(payload->>'channel', ''))", Op: OpGt, Value: 50}},
	{Event: "shop/purchase", Last: "365d", Where: "payload->>'n' = '2'", Count: &Count{Op: OpGe, Value: 1}},
	{Event: "shop/purchase", Last: "365d", Where: "seq > 0 AND (payload ->> 'channel' <> 'web')", Count: &Count{Op: OpGe, Value: 1}},
	{Event: "shop/purchase", Last: "365d", Where: "CASE WHEN payload->>'channel' = 'app' THEN (payload->>'total')::numeric > 10 ELSE coalesce(payload->>'email', '') LIKE 'p1%' END", Count: &Count{Op: OpGe, Value: 1}},
	// Sums of the total as ::numeric gives it (the copy's numbers, where
	// every total converts): rounded to three decimals, 12.3456 is 12.346.
	{Event: "shop/purchase", Last: "365d", Sum: &Comparison{Field: "(payload->>'total')::numeric", Op: OpBetween, Value: []any{12.3455, 12.3459}}},
	{Event: "shop/purchase", Last: "365d", Sum: &Comparison{Field: "CAST(payload->>'total' AS decimal)", Op: OpBetween, Value: []any{12.3455, 12.3465}}},
	{Event: "shop/purchase", Last: "365d", Sum: &Comparison{Field: "(payload->>'total')::NUMERIC * 2", Op: OpGt, Value: 0.0009}},
	{Event: "shop/purchase", Last: "365d", Where: "(payload->>'total')::numeric < 0.001", Sum: &Comparison{Field: "abs((payload->>'total')::numeric)", Op: OpGe, Value: 0}},
	{Event: "shop/purchase", Last: "365d", Sum: &Comparison{Field: "(payload->>'total')::numeric(16,4)", Op: OpBetween, Value: []any{12.3455, 12.3459}}},
	{Event: "shop/purchase", Last: "365d", Sum: &Comparison{Field: "(payload->>'total')::float8", Op: OpBetween, Value: []any{12.3455, 12.3459}}},
	// Not answered by the copy: a JSON operand, another column of the
	// log, a version.
	{Event: "shop/purchase", Last: "365d", Where: "(payload->'channel') IS NOT NULL", Count: &Count{Op: OpGe, Value: 1}},
	{Event: "shop/purchase", Last: "365d", Where: "(payload->>'channel' = 'app') AND version = '1'", Count: &Count{Op: OpGe, Value: 1}},
	{Event: "shop/purchase/1", Last: "365d", Where: "payload->>'channel' = 'app'", Count: &Count{Op: OpGe, Value: 1}},
}

// TestPayloadFields: a preview whose condition reads only payload fields
// counts from the copy of the fields (where the backend keeps one) exactly
// what the plain per-event evaluation on the log gives, hostile payloads
// included, before and after events that the copy has not seen yet (a new
// key among them); it keeps no values of such a condition, and it reads
// the copy (tampered with, the count changes). A run's fill of kept values
// from the copy keeps what a fill from the log keeps.
func TestPayloadFields(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend, testYAML)
			f.people(20)
			hostile := func(tag string) {
				var lines []string
				for i, p := range hostilePurchases {
					lines = append(lines, f.event("shop", "purchase", "1", f.now.AddDate(0, 0, -i), fmt.Sprintf(p, fmt.Sprintf("p%d@example.com", i))))
				}
				lines = append(lines, f.event("shop", "purchase", "2", f.now.AddDate(0, 0, -3), fmt.Sprintf(`{"email":"p1@example.com","total":5,"channel":"app","coupon":%q}`, tag)))
				f.ingest(lines...)
				f.pipeline()
			}
			hostile("NONE")
			copies := f.db.Capabilities().PayloadFields()
			if err := f.seg.KeepFields(ctx); err != nil {
				t.Fatal(err)
			}
			if n := f.count("SELECT count(*) FROM segment_event_fields"); copies != (n == f.count("SELECT count(*) FROM event_log")) {
				t.Fatalf("%d rows in the copy, of %d events (copies: %v)", n, f.count("SELECT count(*) FROM event_log"), copies)
			}
			compare := func(round string) {
				t.Helper()
				ref := loadReference(t, f.db, f.seg.Env(), f.seg.Defs(), f.now)
				for i := range fieldConditions {
					c := &fieldConditions[i]
					want := ref.members(c)
					p, err := f.seg.Preview(ctx, c)
					if err != nil {
						t.Fatalf("%s: condition %d: %v", round, i, err)
					}
					if p.Count != int64(len(want)) || !slices.Equal(p.Sample, want[:min(len(want), PreviewSampleSize)]) {
						t.Errorf("%s: condition %d (%s / %v): preview counts %d %v, the log %d %v", round, i, c.Where, c.Sum, p.Count, p.Sample, len(want), want)
					}
				}
			}
			compare("copied")
			// Later events, which the preview copies first: a new key
			// (coupon SAVE) among them.
			hostile("SAVE")
			compare("tail")
			// The joins of the values in parts of 3 seqs.
			SetJoinParts(t, 3, 1000)
			compare("parts")
			if !copies {
				return
			}
			// The totals' numbers are read, not their text: tampered
			// with, the sum changes.
			pos := f.count("SELECT pos FROM segment_field_keys WHERE name = 'total' AND numeric AND tkey IN (SELECT tkey FROM segment_field_types WHERE type = 'purchase')")
			if _, err := f.db.ExecContext(ctx, fmt.Sprintf(`UPDATE segment_event_fields SET n%d = 1000 WHERE n%d IS NOT NULL
				AND tkey IN (SELECT tkey FROM segment_field_types WHERE type = 'purchase')`, pos, pos)); err != nil {
				t.Fatal(err)
			}
			big := &Condition{Event: "shop/purchase", Last: "365d", Sum: &Comparison{Field: "(payload->>'total')::numeric", Op: OpGe, Value: 1000}}
			p, err := f.seg.Preview(ctx, big)
			if err != nil {
				t.Fatal(err)
			}
			if want := f.count(`SELECT count(DISTINCT m.entity_id) FROM entity_events m JOIN event_log ev ON ev.seq = m.event_seq
				WHERE m.source_id = 'shop' AND m.type = 'purchase' AND m.event_time >= $1 AND (ev.payload->>'total') IS NOT NULL`, f.now.AddDate(-1, 0, 0)); p.Count != want {
				t.Errorf("a sum over tampered numbers counts %d, want every %d buyer with a total", p.Count, want)
			}
			if n := f.count("SELECT count(*) FROM segment_event_fields WHERE tkey IN (SELECT tkey FROM segment_field_types WHERE type = 'purchase')"); n != f.count("SELECT count(*) FROM event_log WHERE source_id = 'shop' AND type = 'purchase'") {
				t.Errorf("%d rows in the copy after previews, want every purchase", n)
			}
			// A condition the copy answers keeps no values; one it
			// cannot (a version) does.
			if n := f.count("SELECT count(*) FROM segment_event_keys WHERE key = $1", ValueKey(&fieldConditions[0])); n != 0 {
				t.Error("a preview answered by the copy kept values")
			}
			if n := f.count("SELECT count(*) FROM segment_event_keys WHERE key = $1", ValueKey(&fieldConditions[len(fieldConditions)-1])); n != 1 {
				t.Error("a preview of a versioned condition kept no values")
			}
			// The preview reads the copy: every channel copied as 'app'
			// makes every entity with a purchase in the window a member.
			if _, err := f.db.ExecContext(ctx, `UPDATE segment_event_fields SET c1 = 'app', c2 = 'app', c3 = 'app', c4 = 'app', c5 = 'app', c6 = 'app'
				WHERE tkey IN (SELECT tkey FROM segment_field_types WHERE type = 'purchase')`); err != nil {
				t.Fatal(err)
			}
			p, err = f.seg.Preview(ctx, &fieldConditions[0])
			if err != nil {
				t.Fatal(err)
			}
			buyers := f.count("SELECT count(DISTINCT entity_id) FROM entity_events WHERE source_id = 'shop' AND type = 'purchase' AND event_time >= $1", f.now.AddDate(-1, 0, 0))
			if p.Count != buyers {
				t.Errorf("preview over a tampered copy counts %d, want every %d buyers", p.Count, buyers)
			}
		})
	}
}

// TestFillFromFields: a run's first fill of kept values reads the copy of
// the fields up to its filled_to and the log after, and keeps exactly the
// values a fill from the log keeps.
func TestFillFromFields(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend, testYAML)
			f.people(30)
			if err := f.seg.KeepFields(ctx); err != nil {
				t.Fatal(err)
			}
			f.change(2) // events the copy has not seen
			f.pipeline()
			f.run("run-1", RunOptions{})
			f.check("run 1")
			key := ValueKey(f.defCondition("s_sum"))
			kept := "SELECT count(*) FROM segment_event_values v JOIN event_log ev ON ev.seq = v.seq WHERE v.key = $1"
			same := kept + " AND v.v = CAST((ev.payload->>'total')::numeric AS DOUBLE PRECISION)"
			apps := f.count("SELECT count(*) FROM event_log WHERE source_id = 'shop' AND type = 'purchase' AND (payload->>'channel') = 'app'")
			if got, eq := f.count(kept, key), f.count(same, key); got != apps || eq != apps || apps == 0 {
				t.Errorf("%d values kept (%d equal to the log's), want the %d app purchases", got, eq, apps)
			}
		})
	}
}

// TestFieldNumbersNotNumeric: a key with a value that does not convert to
// DuckDB's ::numeric is marked so, and a condition casting it reads its
// text, as the log would (here a CASE keeps the bad values out of the
// cast).
func TestFieldNumbersNotNumeric(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend, testYAML)
			f.people(5)
			var lines []string
			for i, total := range []string{`"abc"`, `12`, `"1e20"`, `"7.5"`} {
				lines = append(lines, f.event("shop", "purchase", "1", f.now.AddDate(0, 0, -i), fmt.Sprintf(`{"email":"q%d@example.com","total":%s}`, i, total)))
			}
			f.ingest(lines...)
			f.pipeline()
			if err := f.seg.KeepFields(ctx); err != nil {
				t.Fatal(err)
			}
			cond := &Condition{Event: "shop/purchase", Last: "365d",
				Sum: &Comparison{Field: "CASE WHEN payload->>'total' IN ('abc', '1e20') THEN 0 ELSE (payload->>'total')::numeric END", Op: OpGe, Value: 7}}
			ref := loadReference(t, f.db, f.seg.Env(), f.seg.Defs(), f.now)
			want := ref.members(cond)
			check := func(round string) {
				t.Helper()
				p, err := f.seg.Preview(ctx, cond)
				if err != nil {
					t.Fatalf("%s: %v", round, err)
				}
				if p.Count != int64(len(want)) || len(want) == 0 {
					t.Errorf("%s: preview counts %d, the log %d", round, p.Count, len(want))
				}
			}
			check("copied")
			if !f.db.Capabilities().PayloadFields() {
				return
			}
			if n := f.count("SELECT count(*) FROM segment_field_keys WHERE name = 'total' AND NOT numeric"); n != 1 {
				t.Fatalf("%d keys total marked not numeric, want 1", n)
			}
			// Its numbers are not read: tampered with, nothing changes.
			if _, err := f.db.ExecContext(ctx, "UPDATE segment_event_fields SET n1 = -1, n2 = -1, n3 = -1, n4 = -1"); err != nil {
				t.Fatal(err)
			}
			check("tampered numbers")
		})
	}
}
