package attr_test

import (
	"context"
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
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/worked"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func ingest(t *testing.T, s store.Store, lines ...string) {
	t.Helper()
	b, err := event.Decode(strings.NewReader(strings.Join(lines, "\n")), event.FormatNDJSON)
	if err != nil || len(b.Rejected) > 0 {
		t.Fatal(err, b.Rejected)
	}
	if _, err := event.NewIngester(s, nil).Ingest(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

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
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	s := dbtest.Open(t, backend)
	f := &fixture{s: s, clock: &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	if f.stitch, err = stitch.New(s.SQL(), cfg.Stitching, &stitch.Opts{Now: f.clock.now}); err != nil {
		t.Fatal(err)
	}
	if f.attr, err = attr.New(s.SQL(), cfg.Attributes, cfg.Context, &attr.Options{Now: f.clock.now}); err != nil {
		t.Fatal(err)
	}
	if err := f.attr.ValidateSQL(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) run(t *testing.T, ro attr.RunOptions) *attr.RunResult {
	t.Helper()
	if _, err := f.stitch.Run(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	res, err := f.attr.Run(context.Background(), ro)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Attributes {
		if a.Status != "ok" {
			t.Fatalf("attribute %s: %s", a.ID, a.Error)
		}
	}
	return res
}

// values reads an entity's values, numbers normalized so that both
// engines' text forms compare equal (200.0 and 200).
func (f *fixture) values(t *testing.T, entity string) map[string][]string {
	t.Helper()
	rows, err := f.s.SQL().QueryContext(context.Background(),
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
	err := f.s.SQL().QueryRowContext(context.Background(),
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
		})
	}
}

// snapshot reads every value, normalized, as entity/attribute -> values.
func (f *fixture) snapshot(t *testing.T) map[string][]string {
	t.Helper()
	rows, err := f.s.SQL().QueryContext(context.Background(), "SELECT entity_id, attribute_id, value FROM customer_attributes")
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

// TestEngineEqualsReference stitches and calculates the demo attributes
// over generated data in three parts (so that entities merge between
// runs), holds every value to the per-entity reference path, and checks
// that a run from scratch gives the same values as the incremental runs.
func TestEngineEqualsReference(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, string(demo.Config))
			ctx := context.Background()
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
			if err != nil || st.Merges == 0 {
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
					want, err := attr.Reference(ctx, f.s.SQL(), &d, ent.ID)
					if err != nil {
						continue // a data type the reference does not do
					}
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

			// Context values are refreshed by a run from scratch, so the
			// attribute reading one (engagement) may differ; float sums may
			// differ in the last bit with the order of addition.
			incremental := f.snapshot(t)
			f.run(t, attr.RunOptions{FromScratch: true})
			sameSnapshots(t, "from scratch", incremental, f.snapshot(t), "engagement")
			res := f.run(t, attr.RunOptions{RecalculateAll: true})
			if !res.Attributes[0].Full {
				t.Fatalf("recalculate_all was not full: %+v", res.Attributes[0])
			}
			sameSnapshots(t, "recalculate_all", incremental, f.snapshot(t), "engagement")
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
