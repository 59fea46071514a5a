package store

import (
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
	// 001, 004, 005, 006, 008 and the placeholders 010 to 012 are shared;
	// the backend adds the rest.
	good := fstest.MapFS{
		"migrations/003_c.sql": {Data: []byte("C")},
		"migrations/002_b.sql": {Data: []byte("B")},
		"migrations/007_g.sql": {Data: []byte("G")},
		"migrations/009_i.sql": {Data: []byte("I")},
	}
	ms, err := readMigrations(good)
	if err != nil || len(ms) != 12 || ms[0].name != "catalog" || ms[1].sql != "B" || ms[2].name != "c" || ms[3].name != "config" {
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
