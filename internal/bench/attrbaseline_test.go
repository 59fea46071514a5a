package bench_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// baselineTies are the demo attributes whose baseline models break ties
// otherwise than Weft (DuckDB's mode and arg_min/arg_max over counts pick
// any of the tied values; Weft the latest, then the smallest): for them
// only the entities with a value are compared, for the others the values.
var baselineTies = []string{"favorite_page_category", "favorite_category", "favorite_category_by_spend", "rarest_category"}

// TestSQLAttributesBaselineEqualsWeft runs the attribute benchmark with
// the SQL baseline on a small DuckDB store, and checks that the baseline's
// values equal Weft's for every attribute whose definition is a plain
// aggregate: the same entities, the same values (numbers within rounding,
// since sums of doubles depend on their order).
func TestSQLAttributesBaselineEqualsWeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t, "duckdb")
	r, err := bench.Attributes(ctx, bench.AttributesOpts{DB: db, Events: 20_000, Customers: 2_000, Dirty: 500, Compared: -1, Baseline: "sql"})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	bl := r.Baseline
	if bl == nil || bl.Time <= 0 || len(bl.Models) != r.Attributes || bl.Rows == 0 {
		t.Fatalf("baseline %+v for %d attributes", bl, r.Attributes)
	}
	for _, want := range []string{"SQL baseline", "as fast as the baseline", "incremental run"} {
		if !strings.Contains(r.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}

	// Weft's values after its runs (the incremental one changed none: the
	// touched entities have no new events), and the baseline's.
	weft := map[string]map[string][]string{}
	rows, err := db.QueryContext(ctx, "SELECT attribute_id, entity_id, value FROM customer_attributes")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, e, v string
		if err := rows.Scan(&a, &e, &v); err != nil {
			t.Fatal(err)
		}
		addValue(weft, a, e, v)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	baseline := map[string]map[string][]string{}
	if _, err := bench.SQLAttributesBaseline(ctx, bench.AttrBaselineOpts{DB: db, Values: func(e, a, v string) error {
		addValue(baseline, a, e, v)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if len(weft) != r.Attributes || len(baseline) != r.Attributes {
		t.Fatalf("%d attributes with values in Weft, %d in the baseline, of %d", len(weft), len(baseline), r.Attributes)
	}
	for _, id := range slices.Sorted(maps.Keys(weft)) {
		w, b := weft[id], baseline[id]
		if len(w) != len(b) {
			t.Errorf("%s: %d entities with values in Weft, %d in the baseline", id, len(w), len(b))
			continue
		}
		if slices.Contains(baselineTies, id) {
			continue
		}
		differ := 0
		for e, wv := range w {
			if !sameValues(wv, b[e]) {
				if differ++; differ <= 3 {
					t.Errorf("%s of %s: Weft %q, baseline %q", id, e, wv, b[e])
				}
			}
		}
		if differ > 0 {
			t.Errorf("%s: %d of %d entities differ", id, differ, len(w))
		}
	}
	// The long lists and counts are not trivial on this store.
	for _, id := range []string{"emails", "shoes_bought", "devices", "total_spend", "newsletter", "first_page"} {
		if len(weft[id]) < 50 {
			t.Errorf("%s: only %d entities have a value", id, len(weft[id]))
		}
	}
}

func addValue(m map[string]map[string][]string, attribute, entity, value string) {
	if m[attribute] == nil {
		m[attribute] = map[string][]string{}
	}
	m[attribute][entity] = append(m[attribute][entity], value)
}

// sameValues compares two entities' values as sets, numbers within a
// relative 1e-9.
func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		x, err1 := strconv.ParseFloat(a[i], 64)
		y, err2 := strconv.ParseFloat(b[i], 64)
		if err1 != nil || err2 != nil || max(x-y, y-x) > 1e-9*max(1, max(x, -x)) {
			return false
		}
	}
	return true
}

// TestSQLAttributesBaselineNeedsDuckDB: on PostgreSQL the baseline says it
// cannot run instead of failing in a model.
func TestSQLAttributesBaselineNeedsDuckDB(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "postgres")
	_, err := bench.SQLAttributesBaseline(context.Background(), bench.AttrBaselineOpts{DB: db})
	if !errors.Is(err, bench.ErrAttrBaselineUnsupported) {
		t.Fatalf("got %v", err)
	}
}
