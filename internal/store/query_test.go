package store

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

func TestQueryOverrides(t *testing.T) {
	q, err := loadQueries(fstest.MapFS{"query/x.sql": {Data: []byte("-- name: Stats\nSELECT 1, 2, 3, 4\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if q.get("Stats") != "SELECT 1, 2, 3, 4" {
		t.Errorf("override not applied: %q", q.get("Stats"))
	}
	_, err = loadQueries(fstest.MapFS{"query/x.sql": {Data: []byte("-- name: NoSuchQuery\nSELECT 1\n")}})
	if err == nil || !strings.Contains(err.Error(), "no shared query") {
		t.Errorf("an override of nothing: %v", err)
	}
}

func TestReadMigrations(t *testing.T) {
	// The backend fills the numbers the shared migrations leave free.
	shared, err := readMigrationDir(sharedMigrations)
	if err != nil {
		t.Fatal(err)
	}
	taken := map[int]bool{}
	last := 0
	for _, m := range shared {
		taken[m.version] = true
		last = max(last, m.version)
	}
	good := fstest.MapFS{}
	for v := 1; v <= last+1; v++ {
		if !taken[v] {
			good[fmt.Sprintf("migrations/%03d_b%d.sql", v, v)] = &fstest.MapFile{Data: []byte(fmt.Sprint("B", v))}
		}
	}
	ms, err := readMigrations(good)
	if err != nil || len(ms) != last+1 || ms[0].name != "catalog" || ms[1].sql != "B2" || ms[3].name != "config" {
		t.Fatalf("%+v %v", ms, err)
	}
	// Numbers may be skipped (ranges given to branches that were not
	// merged): the migrations still come in version order.
	gap := fstest.MapFS{"migrations/090_late.sql": {}}
	for name, f := range good {
		gap[name] = f
	}
	if ms, err := readMigrations(gap); err != nil || ms[len(ms)-1].version != 90 || ms[len(ms)-2].version != last+1 {
		t.Errorf("migrations with a gap: %v", err)
	}
	twice := fstest.MapFS{"migrations/001_catalog.sql": {}, "migrations/002_b.sql": {}}
	if _, err := readMigrations(twice); err == nil {
		t.Error("a backend migration with a shared migration's number was accepted")
	}
	bad := fstest.MapFS{"migrations/first.sql": {}}
	if _, err := readMigrations(bad); err == nil {
		t.Error("a badly named migration was accepted")
	}
}

// TestNarrowByKeys: the marks of the shared queries become comparisons of
// the key column where the backend has entity keys, and stay comments
// where it has none; every query that reads entity_events or identifiers
// by one entity's id carries one.
func TestNarrowByKeys(t *testing.T) {
	keyOf := func(expr string) string { return "k(" + expr + ")" }
	q := queries{
		"One":  "SELECT 1 FROM t m WHERE /*key m.entity_key = $1*/ m.entity_id = $1",
		"Many": "SELECT 1 FROM t WHERE /*key entity_key IN $2[]*/ entity_id IN (SELECT unnest(CAST($2 AS TEXT[])))",
	}
	none := queries{"One": q["One"]}
	q.narrowByKeys(keyOf)
	if want := "SELECT 1 FROM t m WHERE m.entity_key = k(CAST($1 AS TEXT)) AND m.entity_id = $1"; q["One"] != want {
		t.Errorf("one id:\n got %s\nwant %s", q["One"], want)
	}
	if want := "SELECT 1 FROM t WHERE entity_key IN (SELECT k(x) FROM unnest(CAST($2 AS TEXT[])) AS ids(x)) AND entity_id IN (SELECT unnest(CAST($2 AS TEXT[])))"; q["Many"] != want {
		t.Errorf("ids:\n got %s\nwant %s", q["Many"], want)
	}
	none.narrowByKeys(func(string) string { return "" })
	if none["One"] != "SELECT 1 FROM t m WHERE /*key m.entity_key = $1*/ m.entity_id = $1" {
		t.Errorf("without keys the mark stays a comment: %s", none["One"])
	}

	shared, err := loadQueries(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"EntityIdentifiers", "EntityEventStats", "EntityEvents", "ProfileTimeline", "ProfileIdentifierLinks",
		"ProfileRefusedSeqs", "GraphEvents", "CustomerEventsNewest", "StitchConstraintFirstEvents"} {
		if !keyMark.MatchString(shared.get(name)) {
			t.Errorf("%s reads by entity id without a key mark", name)
		}
	}
}
