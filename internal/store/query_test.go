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
	// The backend fills the numbers the shared migrations leave free
	// (002, 003, 007, ...), whichever those are as migrations are added.
	shared, err := readMigrationDir(sharedMigrations)
	if err != nil {
		t.Fatal(err)
	}
	isShared, last := map[int]bool{}, 0
	for _, m := range shared {
		isShared[m.version], last = true, max(last, m.version)
	}
	good := fstest.MapFS{}
	for v := 1; v <= last; v++ {
		if !isShared[v] {
			good[fmt.Sprintf("migrations/%03d_b%d.sql", v, v)] = &fstest.MapFile{Data: []byte(fmt.Sprint(v))}
		}
	}
	ms, err := readMigrations(good)
	if err != nil || len(ms) != last || ms[0].name != "catalog" || ms[1].sql != "2" || ms[2].name != "b3" || ms[3].name != "config" {
		t.Fatalf("%+v %v", ms, err)
	}
	gap := fstest.MapFS{"migrations/003_c.sql": {}}
	if _, err := readMigrations(gap); err == nil {
		t.Error("a gap in migration numbers was accepted")
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
