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
	good := fstest.MapFS{
		"migrations/002_b.sql": {Data: []byte("B")},
		"migrations/001_a.sql": {Data: []byte("A")},
	}
	ms, err := readMigrations(good)
	if err != nil || len(ms) != 2 || ms[0].name != "a" || ms[1].sql != "B" {
		t.Fatalf("%+v %v", ms, err)
	}
	gap := fstest.MapFS{"migrations/001_a.sql": {}, "migrations/003_c.sql": {}}
	if _, err := readMigrations(gap); err == nil {
		t.Error("a gap in migration numbers was accepted")
	}
	bad := fstest.MapFS{"migrations/first.sql": {}}
	if _, err := readMigrations(bad); err == nil {
		t.Error("a badly named migration was accepted")
	}
}
