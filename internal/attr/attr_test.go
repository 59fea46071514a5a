package attr_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/duckdb"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/worked"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var ingest = dbtest.Ingest

// fixture is a stitched store with engines for a weft.yaml.
type fixture struct {
	s      *store.DB
	stitch *stitch.Engine
	attr   *attr.Engine
	clock  *clock
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newFixture(t *testing.T, backend, yaml string) *fixture {
	t.Helper()
	return fixtureOn(t, dbtest.Open(t, backend), yaml, &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
}

// fixtureOn is newFixture over store s, at the time of c.
func fixtureOn(t *testing.T, s *store.DB, yaml string, c *clock) *fixture {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, clock: c}
	if f.stitch, err = stitch.New(s, cfg.Stitching, &stitch.Opts{Now: f.clock.now}); err != nil {
		t.Fatal(err)
	}
	if f.attr, err = attr.New(s, cfg.Attributes, cfg.Context, &attr.Options{Now: f.clock.now}); err != nil {
		t.Fatal(err)
	}
	if err := f.attr.ValidateSQL(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) run(t *testing.T, ro attr.RunOptions) *attr.RunResult {
	t.Helper()
	res := f.runWithErrors(t, ro)
	for _, a := range res.Attributes {
		if a.Status != "ok" {
			t.Fatalf("attribute %s: %s", a.ID, a.Error)
		}
	}
	return res
}

// runWithErrors stitches and runs the attributes, some of which may fail.
func (f *fixture) runWithErrors(t *testing.T, ro attr.RunOptions) *attr.RunResult {
	t.Helper()
	if _, err := f.stitch.Run(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	res, err := f.attr.Run(context.Background(), ro)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// values reads an entity's values, numbers normalized so that both
// engines' text forms compare equal (200.0 and 200).
func (f *fixture) values(t *testing.T, entity string) map[string][]string {
	t.Helper()
	rows, err := f.s.QueryContext(context.Background(),
		"SELECT attribute_id, value FROM customer_attributes WHERE entity_id = $1", entity)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		out[id] = append(out[id], normalize(v))
	}
	for _, vs := range out {
		sort.Strings(vs)
	}
	return out
}

func normalize(v string) string {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return v
}

func (f *fixture) entityOf(t *testing.T, eventID string) string {
	t.Helper()
	var ent string
	err := f.s.QueryRowContext(context.Background(),
		"SELECT customer_entity_id FROM customer_events WHERE id = $1", eventID).Scan(&ent)
	if err != nil {
		t.Fatal(err)
	}
	return ent
}

// TestWorkedExample holds the engine to every attribute of the worked
// example, then adds the tie-breaking event and checks that only the
// entity it touches is calculated again.
func TestWorkedExample(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, worked.Config)
			ingest(t, f.s, worked.Events...)
			res := f.run(t, attr.RunOptions{})
			if res.DueEntities != 0 {
				// Every attribute is new: all entities go through the full path.
				t.Errorf("due entities %d, want 0 (all calculated as new attributes)", res.DueEntities)
			}
			x, y, z := f.entityOf(t, "e1"), f.entityOf(t, "e8"), f.entityOf(t, "e9")
			if got := f.values(t, x); !reflect.DeepEqual(got, worked.ExpectedX) {
				t.Errorf("X:\n got %v\nwant %v", got, worked.ExpectedX)
			}
			if got := f.values(t, y); !reflect.DeepEqual(got, worked.ExpectedY) {
				t.Errorf("Y: got %v, want %v", got, worked.ExpectedY)
			}
			if got := f.values(t, z); !reflect.DeepEqual(got, worked.ExpectedZ) {
				t.Errorf("Z: got %v", got)
			}

			// Nothing changed: nothing is due.
			f.clock.t = f.clock.t.Add(time.Hour)
			if res := f.run(t, attr.RunOptions{}); res.DueEntities != 0 {
				t.Errorf("a run with no activity calculated %d entities", res.DueEntities)
			}

			// e10: hats tie with shoes (2 each) and are more recent.
			f.clock.t = f.clock.t.Add(time.Hour)
			ingest(t, f.s, worked.TieEvent)
			res = f.run(t, attr.RunOptions{})
			if res.DueEntities != 1 {
				t.Errorf("after e10: %d due entities, want 1 (X)", res.DueEntities)
			}
			got := f.values(t, x)
			if got["fav_category"][0] != "hats" || got["purchases_custom"][0] != "3" || got["eshop_revenue_sum"][0] != "215" {
				t.Errorf("after e10: %v", got)
			}
			f.checkViewAndCaches(t, x)
		})
	}
}

// checkViewAndCaches reads X's row of pivoted_customer_attributes and the
// caches after the tie event.
func (f *fixture) checkViewAndCaches(t *testing.T, x string) {
	t.Helper()
	ctx := context.Background()
	var first, fav string
	var sum float64
	var purchases int64
	err := f.s.QueryRowContext(ctx, `SELECT web_url_first, fav_category, eshop_revenue_sum, purchases_custom[1]
		FROM pivoted_customer_attributes WHERE customer_entity_id = $1`, x).Scan(&first, &fav, &sum, &purchases)
	if err != nil || first != "/home" || fav != "hats" || sum != 215 || purchases != 3 {
		t.Errorf("pivoted row of X: %q %q %v %v, %v", first, fav, sum, purchases, err)
	}
	var rows int
	if err := f.s.QueryRowContext(ctx, "SELECT count(*) FROM pivoted_customer_attributes").Scan(&rows); err != nil || rows != 3 {
		t.Errorf("pivoted view has %d rows, want 3 (X, Y, Z): %v", rows, err)
	}
	customers, counts, err := f.s.AttributeValueCounts(ctx, "web_url_last", 10)
	if err != nil || customers != 2 || len(counts) != 1 || counts[0] != (store.ValueCount{Value: "/", Count: 2}) {
		t.Errorf("web_url_last cache: %d customers, %v, %v", customers, counts, err)
	}
	states, err := f.s.AttributeStates(ctx)
	if err != nil || len(states) != 16 {
		t.Fatalf("%d attribute states, %v", len(states), err)
	}
	for _, st := range states {
		if st.ID == "purchases_custom" && (st.Customers != 3 || st.Status != "ok") {
			t.Errorf("state %+v", st)
		}
	}
}

// TestContext runs the seed's context query (the 90th percentile of
// events per customer, its schema prefix removed) and an attribute that
// reads it, and refreshes the value only when it is 24 hours old.
func TestContext(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, string(demo.Config))
			var lines []string
			for e := range demo.Events(demo.Options{Customers: 60, Seed: 2}) {
				lines = append(lines, string(e.AppendJSON(nil)))
			}
			ingest(t, f.s, lines...)
			res := f.run(t, attr.RunOptions{})
			if len(res.Contexts) != 1 || !res.Contexts[0].Refreshed || res.Contexts[0].Error != "" {
				t.Fatalf("contexts %+v", res.Contexts)
			}
			p90, err := strconv.Atoi(res.Contexts[0].Value)
			if err != nil || p90 < 10 {
				t.Fatalf("p90 of events per customer %q", res.Contexts[0].Value)
			}
			// engagement = events / p90 for every live entity.
			var n int
			var sumEngagement, sumEvents float64
			err = f.s.QueryRowContext(context.Background(), `SELECT count(*), sum(CAST(a.value AS DOUBLE PRECISION)), sum(c.n)
				FROM customer_attributes a JOIN (SELECT customer_entity_id, count(*) AS n FROM customer_events GROUP BY 1) c
				  ON c.customer_entity_id = a.entity_id
				WHERE a.attribute_id = 'engagement'`).Scan(&n, &sumEngagement, &sumEvents)
			if err != nil || n == 0 || math.Abs(sumEngagement-sumEvents/float64(p90)) > 1e-6 {
				t.Errorf("engagement over %d entities: %v, want %v (%v)", n, sumEngagement, sumEvents/float64(p90), err)
			}
			// New activity makes runs with work; the context is refreshed
			// by the first after 24 hours. A run with nothing to do leaves it.
			activity := func(id string) {
				ingest(t, f.s, fmt.Sprintf(`{"id":%q,"source_id":"web","type":"page_view","version":"1-0-0","event_time":"2026-03-01T00:00:00Z","payload":{"cookie_id":"ck_new"}}`, id))
			}
			f.clock.t = f.clock.t.Add(23 * time.Hour)
			activity("n1")
			if res := f.run(t, attr.RunOptions{}); len(res.Contexts) != 1 || res.Contexts[0].Refreshed || res.DueEntities != 1 {
				t.Errorf("before 24 hours: %+v, %d due", res.Contexts, res.DueEntities)
			}
			f.clock.t = f.clock.t.Add(2 * time.Hour)
			if res := f.run(t, attr.RunOptions{}); len(res.Contexts) != 0 {
				t.Errorf("a run with nothing to do refreshed contexts: %+v", res.Contexts)
			}
			activity("n2")
			if res := f.run(t, attr.RunOptions{}); len(res.Contexts) != 1 || !res.Contexts[0].Refreshed {
				t.Errorf("after 24 hours: %+v", res.Contexts)
			}
		})
	}
}

// TestTypesAndEdges covers what the worked example does not: NULLs and
// values that do not convert are dropped, ties of first/last/least
// frequent, min and max in each data type, booleans, dates, datetimes,
// weights on both levels and filters that leave nothing.
func TestTypesAndEdges(t *testing.T) {
	const yaml = `stitching:
  rules:
    - {identifier: user, event: app/e, value_expression: "payload->>'user'"}
attributes:
  - {id: first_v, type: first, value: "payload->>'v'"}
  - {id: last_v, type: last, value: "payload->>'v'"}
  - {id: last_upper_v, type: last, value: "payload->>'V'"}
  - {id: last_of_tied, type: last, value: "payload->>'v'", filter: "payload->>'n' IN ('9', '10')"}
  - {id: max_text, type: max, value: "payload->>'n'"}
  - {id: max_int, type: max, data_type: int, value: "payload->>'n'"}
  - {id: min_float, type: min, data_type: float, value: "payload->>'n'"}
  - {id: sum_int, type: sum, data_type: int, value: "payload->>'n'"}
  - {id: any_flag, type: max, data_type: bool, value: "payload->>'flag'"}
  - {id: all_flags, type: min, data_type: bool, value: "payload->>'flag'"}
  - {id: last_day, type: max, data_type: date, value: "payload->>'day'"}
  - {id: first_at, type: min, data_type: datetime, value: "payload->>'at'"}
  - {id: rare, type: least_frequent, value: "payload->>'v'"}
  - {id: heavy, type: most_frequent, value: "jsonb_array_elements(payload->'items')", outer_value: "value->>'k'", weight: "(payload->>'w')::numeric", outer_weight: "(value->>'q')::numeric"}
  - {id: unique_v, type: num_of_unique, value: "payload->>'v'"}
  - {id: nothing, type: sum, value: "payload->>'n'", filter: "payload->>'v' = 'no such value'"}
  - {id: list_int, type: list, data_type: int, value: "payload->>'n'"}
`
	ev := func(id, at, payload string) string {
		return fmt.Sprintf(`{"id":%q,"source_id":"app","type":"e","version":"1","event_time":%q,"payload":%s}`, id, at, payload)
	}
	events := []string{
		// Two events at the same time: the smaller id is first, the larger last.
		ev("b", "2026-01-01T10:00:00Z", `{"user":"u","v":"beta","n":"9","flag":"true","day":"2026-01-05","at":"2026-01-01T09:00:00Z","w":"2","items":[{"k":"x","q":"1"},{"k":"y","q":"3"}]}`),
		ev("a", "2026-01-01T10:00:00Z", `{"user":"u","v":"alpha","n":"10","flag":"false","day":"2026-02-01","at":"2025-12-31T23:00:00+01:00"}`),
		ev("c", "2026-01-02T10:00:00Z", `{"user":"u","v":null,"n":"x","flag":"maybe","day":"soon","at":"later","w":"1","items":[{"k":"x","q":"4"}]}`),
		ev("d", "2026-01-03T10:00:00Z", `{"user":"u","v":"beta","V":"BETA","n":"-2","flag":"1"}`),
	}
	want := map[string][]string{
		"first_v":      {"alpha"},
		"last_v":       {"beta"},          // d, the latest with a value (c's is NULL)
		"last_upper_v": {"BETA"},          // keys compared with their case
		"last_of_tied": {"beta"},          // a and b only, at one time: the larger id is last
		"max_text":     {"x"},             // text order: "x" > "9" > "10" > "-2"
		"max_int":      {"10"},            // "x" does not convert
		"min_float":    {"-2"},            //
		"sum_int":      {"17"},            // 9 + 10 - 2
		"any_flag":     {"true"},          //
		"all_flags":    {"false"},         // "maybe" dropped
		"last_day":     {"2026-02-01"},    // "soon" dropped
		"rare":         {"alpha"},         // alpha 1, beta 2
		"heavy":        {"x"},             // x: 2*1 + 1*4 = 6, y: 2*3 = 6; the tie goes to x, seen later (c)
		"unique_v":     {"2"},             //
		"list_int":     {"-2", "10", "9"}, // sorted as numbers: -2 9 10; compared here as text
	}
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, yaml)
			ingest(t, f.s, events...)
			f.run(t, attr.RunOptions{})
			got := f.values(t, f.entityOf(t, "a"))
			at := got["first_at"]
			delete(got, "first_at")
			if len(at) != 1 || !strings.HasPrefix(at[0], "2025-12-31 22:00:00") {
				t.Errorf("first_at %v, want 2025-12-31 22:00:00 UTC", at)
			}
			for k, v := range want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			if _, ok := got["nothing"]; ok {
				t.Errorf("a filter that leaves nothing stored %v", got["nothing"])
			}
		})
	}
}

// snapshot reads every value, normalized, as entity/attribute -> values.
func (f *fixture) snapshot(t *testing.T) map[string][]string {
	t.Helper()
	rows, err := f.s.QueryContext(context.Background(), "SELECT entity_id, attribute_id, value FROM customer_attributes")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var e, a, v string
		if err := rows.Scan(&e, &a, &v); err != nil {
			t.Fatal(err)
		}
		out[e+"/"+a] = append(out[e+"/"+a], normalize(v))
	}
	for _, vs := range out {
		sort.Strings(vs)
	}
	return out
}

func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, errX := strconv.ParseFloat(a[i], 64)
		y, errY := strconv.ParseFloat(b[i], 64)
		if errX == nil && errY == nil {
			if math.Abs(x-y) > 1e-9*math.Max(1, math.Abs(x)) {
				return false
			}
		} else if a[i] != b[i] {
			return false
		}
	}
	return true
}

// referenceConfig is the demo's with more custom queries: grouped ones
// whose value over no events is NULL (sum) or not (a constant added), and
// ones run per entity (a LIMIT, several rows, base read in a subquery).
var referenceConfig = strings.Replace(string(demo.Config), "\n  - {id: first_seen,", `
  - {id: shop_versions, type: custom, data_type: int, query: "SELECT sum(length(type)) AS value FROM base WHERE source_id = 'shop'"}
  - {id: nothing_plus, type: custom, data_type: int, query: "SELECT count(*) + 100 AS value FROM base WHERE type = 'no such type'"}
  - {id: views_limited, type: custom, data_type: int, query: "SELECT count(*) AS value FROM base WHERE type = 'page_view' LIMIT 1"}
  - {id: event_types, type: custom, query: "SELECT DISTINCT type AS value FROM base"}
  - {id: at_last, type: custom, data_type: int, query: "SELECT count(*) AS value FROM base WHERE event_time = (SELECT max(event_time) FROM base)"}
  - {id: first_seen,`, 1)

// TestEngineEqualsReference stitches and calculates the demo attributes
// over generated data in three parts (so that entities merge between
// runs), holds every value to the per-entity reference path, and checks
// that a run from scratch gives the same values as the incremental runs.
func TestEngineEqualsReference(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, referenceConfig)
			ctx := context.Background()
			// Small chunks: every statement runs over a list of entities.
			cfg, _ := config.Parse([]byte(referenceConfig))
			var err error
			if f.attr, err = attr.New(f.s, cfg.Attributes, cfg.Context, &attr.Options{Now: f.clock.now, ChunkSize: 37}); err != nil {
				t.Fatal(err)
			}
			var lines []string
			for e := range demo.Events(demo.Options{Customers: 150, Seed: 4}) {
				lines = append(lines, string(e.AppendJSON(nil)))
			}
			third := len(lines) / 3
			for _, part := range [][]string{lines[:third], lines[third : 2*third], lines[2*third:]} {
				ingest(t, f.s, part...)
				f.run(t, attr.RunOptions{})
				f.clock.t = f.clock.t.Add(time.Hour)
			}
			st, err := f.s.Stats(ctx)
			if err != nil || st.Merges == 0 || st.Entities < 3*37 {
				t.Fatalf("no merges to test: %+v %v", st, err)
			}
			page, err := f.s.EntityList(ctx, &store.EntityListParams{Limit: store.EntityListLimitMax})
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, ent := range page {
				got := f.values(t, ent.ID)
				for _, d := range f.attr.Definitions() {
					want, err := attr.Reference(ctx, f.s, &d, ent.ID)
					if err != nil {
						t.Fatal(err)
					}
					// The engine's text, as the API gives it.
					for i, v := range got[d.ID] {
						got[d.ID][i] = normalize(fmt.Sprint(d.JSONValue(v)))
					}
					sort.Strings(got[d.ID])
					for i := range want {
						want[i] = normalize(want[i])
					}
					sort.Strings(want)
					if !sameValues(got[d.ID], want) {
						t.Fatalf("entity %s, %s: engine %v, reference %v", ent.ID, d.ID, got[d.ID], want)
					}
					checked++
				}
			}
			if checked < 1000 {
				t.Fatalf("only %d values checked", checked)
			}

			f.checkCaches(t)
			// Context values are refreshed by a run from scratch, so the
			// attribute reading one (engagement) may differ; float sums may
			// differ in the last bit with the order of addition.
			incremental := f.snapshot(t)
			f.run(t, attr.RunOptions{FromScratch: true})
			sameSnapshots(t, "from scratch", incremental, f.snapshot(t), "engagement")
			// Full passes count the caches from each attribute's new values
			// (the first run recounted them all).
			f.checkCaches(t)
			res := f.run(t, attr.RunOptions{RecalculateAll: true})
			if !res.Attributes[0].Full {
				t.Fatalf("recalculate_all was not full: %+v", res.Attributes[0])
			}
			sameSnapshots(t, "recalculate_all", incremental, f.snapshot(t), "engagement")
			f.checkCaches(t)
		})
	}
}

func sameSnapshots(t *testing.T, what string, want, got map[string][]string, except string) {
	t.Helper()
	for _, m := range []map[string][]string{want, got} {
		for k := range m {
			if strings.HasSuffix(k, "/"+except) {
				delete(m, k)
			}
		}
	}
	if len(want) != len(got) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
	}
	for k, v := range got {
		if !sameValues(want[k], v) {
			t.Errorf("%s: %s is %v, want %v", what, k, v, want[k])
		}
	}
}

// TestDueEntities checks which entities a run calculates: those with new
// events, those merged, those not calculated for 48 hours, every entity
// for a changed definition, and no others.
func TestDueEntities(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			const yaml = `stitching:
  rules:
    - {identifier: email, event: web/signup, value_expression: "payload->>'email'"}
attributes:
  - {id: pages, type: custom, data_type: int, query: "SELECT count(*) AS value FROM base"}
  - {id: last_email, type: last, value: "payload->>'email'"}
`
			f := newFixture(t, backend, yaml)
			signup := func(id, email string, minute int) string {
				return fmt.Sprintf(`{"id":%q,"source_id":"web","type":"signup","version":"1","event_time":"2026-02-01T10:%02d:00Z","payload":{"email":%q}}`, id, minute, email)
			}
			ingest(t, f.s, signup("a1", "a@x", 1), signup("b1", "b@x", 2), signup("c1", "c@x", 3))
			due := func(want int64) {
				t.Helper()
				res := f.run(t, attr.RunOptions{})
				if res.DueEntities != want {
					t.Errorf("%d due entities, want %d", res.DueEntities, want)
				}
			}
			due(0) // new attributes: all entities through the full path
			f.clock.t = f.clock.t.Add(time.Hour)
			due(0)
			// A run that calculated nothing leaves the last run on record.
			states, err := f.s.AttributeStates(context.Background())
			if err != nil || len(states) != 2 || states[0].Entities != 3 || states[1].Entities != 3 {
				t.Errorf("states after a quiet run: %+v %v", states, err)
			}

			ingest(t, f.s, signup("a2", "a@x", 4)) // activity on a
			f.clock.t = f.clock.t.Add(time.Hour)
			due(1)
			if v := f.values(t, f.entityOf(t, "a1"))["pages"]; v[0] != "2" {
				t.Errorf("a has %v pages", v)
			}

			// A new definition of one attribute: every entity, for it alone.
			cfg, _ := config.Parse([]byte(strings.Replace(yaml, "count(*) AS value", "count(*) * 10 AS value", 1)))
			eng, err := attr.New(f.s, cfg.Attributes, nil, &attr.Options{Now: f.clock.now})
			if err != nil {
				t.Fatal(err)
			}
			f.attr = eng
			f.clock.t = f.clock.t.Add(time.Hour)
			res := f.run(t, attr.RunOptions{})
			byID := map[string]attr.AttributeResult{}
			for _, a := range res.Attributes {
				byID[a.ID] = a
			}
			if !byID["pages"].Full || byID["pages"].Entities != 3 || byID["last_email"].Full || byID["last_email"].Entities != 0 {
				t.Errorf("after a definition change: %+v", res.Attributes)
			}
			if v := f.values(t, f.entityOf(t, "b1"))["pages"]; v[0] != "10" {
				t.Errorf("b has %v pages after the change", v)
			}

			// A merge: b's email arrives on an event of c; b (older) survives.
			b, c := f.entityOf(t, "b1"), f.entityOf(t, "c1")
			ingest(t, f.s, `{"id":"m1","source_id":"web","type":"signup","version":"1","event_time":"2026-02-01T11:00:00Z","payload":{"email":"c@x","alias":"b@x"}}`)
			two := strings.Replace(yaml, `value_expression: "payload->>'email'"`, `value_expression: "json_array_elements_text(json_build_array(payload->>'email', payload->>'alias'))"`, 1)
			cfg, _ = config.Parse([]byte(two))
			if f.stitch, err = stitch.New(f.s, cfg.Stitching, &stitch.Opts{Now: f.clock.now}); err != nil {
				t.Fatal(err)
			}
			f.clock.t = f.clock.t.Add(time.Hour)
			due(1)
			if f.entityOf(t, "c1") != b {
				t.Fatalf("c was not merged into b")
			}
			if v := f.values(t, b)["pages"]; v[0] != "30" {
				t.Errorf("the survivor has %v pages", v)
			}
			if got := f.values(t, c); len(got) != 0 {
				t.Errorf("the merged-away entity kept values %v", got)
			}

			// 48 hours later every entity is due again, then none.
			f.clock.t = f.clock.t.Add(48*time.Hour + time.Minute)
			due(2)
			due(0)
		})
	}
}

// TestFailingAttribute checks that an attribute failing at run time is
// reported with its error while the others are calculated.
func TestFailingAttribute(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, worked.Config+`  - {id: broken, type: custom, query: "SELECT CAST(payload->>'url' AS INTEGER) AS value FROM base"}
`)
			ingest(t, f.s, worked.Events...)
			res := f.runWithErrors(t, attr.RunOptions{})
			for _, a := range res.Attributes {
				if (a.ID == "broken") != (a.Status == "error") || (a.ID == "broken" && !strings.Contains(a.Error, "/home")) {
					t.Errorf("%s: %s %s", a.ID, a.Status, a.Error)
				}
			}
			if got := f.values(t, f.entityOf(t, "e1")); got["fav_category"][0] != "shoes" || got["broken"] != nil {
				t.Errorf("values beside a failing attribute: %v", got)
			}
		})
	}
}

// checkCaches holds the caches, kept by deltas, to a count of the values.
func (f *fixture) checkCaches(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`SELECT attribute_id, '', customers_count FROM attribute_customers_cache
		 EXCEPT SELECT attribute_id, '', count(DISTINCT entity_id) FROM customer_attributes GROUP BY attribute_id`,
		`SELECT attribute_id, '', count(DISTINCT entity_id) FROM customer_attributes GROUP BY attribute_id
		 EXCEPT SELECT attribute_id, '', customers_count FROM attribute_customers_cache`,
		`SELECT attribute_id, value, count FROM attribute_values_counts
		 EXCEPT SELECT attribute_id, value, count(*) FROM customer_attributes GROUP BY attribute_id, value`,
		`SELECT attribute_id, value, count(*) FROM customer_attributes GROUP BY attribute_id, value
		 EXCEPT SELECT attribute_id, value, count FROM attribute_values_counts`,
	} {
		rows, err := f.s.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, v string
			var n int64
			rows.Scan(&id, &v, &n)
			t.Errorf("cache differs from the values: %s %q %d (%s)", id, v, n, strings.Fields(q)[3])
		}
		rows.Close()
	}
}

// TestEntityKeys: on DuckDB an incremental run finds the old values by
// their entity_key; keys of another hash function (key_check differs, as
// after a DuckDB upgrade) are computed again when the store opens, before
// the run reads by them.
func TestEntityKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := duckdb.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := fixtureOn(t, s, worked.Config, &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
	ingest(t, f.s, worked.Events...)
	f.run(t, attr.RunOptions{})
	want := f.snapshot(t)
	f.clock.t = f.clock.t.Add(time.Hour)
	for _, q := range []string{"UPDATE customer_attributes SET entity_key = 0", "UPDATE entity_events SET entity_key = 0",
		"UPDATE identifiers SET entity_key = 0", "UPDATE attribute_meta SET key_check = 0"} {
		if _, err := f.s.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.s.ExecContext(ctx, "UPDATE entities SET modified_at = $1", f.clock.t); err != nil {
		t.Fatal(err)
	}
	f.s.Close()
	if s, err = duckdb.Open(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f = fixtureOn(t, s, worked.Config, f.clock)
	f.clock.t = f.clock.t.Add(time.Minute)
	if res := f.run(t, attr.RunOptions{}); res.DueEntities == 0 {
		t.Fatal("no entity was due")
	}
	sameSnapshots(t, "after the keys were computed again", want, f.snapshot(t), "")
	f.checkCaches(t)
	for _, table := range store.EntityKeyTables {
		var stale int
		if err := f.s.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE entity_key IS DISTINCT FROM CAST(hash(entity_id) >> 32 AS UINTEGER)").Scan(&stale); err != nil || stale > 0 {
			t.Errorf("%s: %d rows with a stale key (%v)", table, stale, err)
		}
	}
}

// TestOnlyEventTime: attributes whose values are the events' times read
// the staging table's event_time column and add none of their own; with
// no other, the table has the event columns only.
func TestOnlyEventTime(t *testing.T) {
	const yaml = `stitching:
  rules:
    - {identifier: user, event: app/e, value_expression: "payload->>'user'"}
attributes:
  - {id: first_at, type: min, data_type: datetime, value: "event_time"}
  - {id: last_at, type: max, data_type: datetime, value: "event_time"}
  - {id: last_e_at, type: last, data_type: datetime, value: "event_time"}
`
	ev := func(id, at string) string {
		return fmt.Sprintf(`{"id":%q,"source_id":"app","type":"e","version":"1","event_time":%q,"payload":{"user":"u"}}`, id, at)
	}
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, yaml)
			ingest(t, f.s, ev("a", "2026-01-02T10:00:00Z"), ev("b", "2026-01-01T10:00:00Z"), ev("c", "2026-01-03T10:00:00Z"))
			f.run(t, attr.RunOptions{})
			got := f.values(t, f.entityOf(t, "a"))
			for id, want := range map[string]string{"first_at": "2026-01-01 10:00:00", "last_at": "2026-01-03 10:00:00", "last_e_at": "2026-01-03 10:00:00"} {
				if len(got[id]) != 1 || !strings.HasPrefix(got[id][0], want) {
					t.Errorf("%s = %v, want %s", id, got[id], want)
				}
			}
		})
	}
}
