package duckdb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/duckdb"
	"github.com/weftdata/weft/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Exercise(t, storetest.Backend{
		NewLocation: func(t *testing.T) string { return t.TempDir() },
		Open: func(ctx context.Context, loc string, opts *store.Options) (store.Store, error) {
			return duckdb.Open(ctx, loc, opts)
		},
	})
}

// TestEntityKeysCheckedAtOpen: keys computed with another hash function
// (key_check differs, as after a DuckDB upgrade) are computed again when
// the store opens, on every table that has them, before anything reads
// by them.
func TestEntityKeysCheckedAtOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := duckdb.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO entity_events (event_seq, entity_id, entity_key, source_id, type, event_time) VALUES (1, 'E1', 7, 'web', 'page_view', CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ)), (2, 'E2', NULL, 'web', 'page_view', CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ))`,
		`INSERT INTO identifiers (category, value, entity_id, first_seq, entity_key) VALUES ('email', 'a@x', 'E1', 1, 7)`,
		`INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at, entity_key) VALUES ('E1', 'a', 'v', CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ), 7)`,
		`UPDATE attribute_meta SET key_check = 0`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if db, err = duckdb.Open(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := db.Capabilities().EntityKey()
	for _, table := range store.EntityKeyTables {
		var rows, wrong int
		if err := db.QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (WHERE entity_key IS DISTINCT FROM "+key+") FROM "+table).Scan(&rows, &wrong); err != nil {
			t.Fatal(err)
		}
		if rows == 0 || wrong != 0 {
			t.Errorf("%s: %d of %d rows with a stale key after the open", table, wrong, rows)
		}
	}
}

// TestReadsNarrowByKey: the reads of one entity's rows compare the integer
// entity keys first on DuckDB (the shared queries' marks, written out).
func TestReadsNarrowByKey(t *testing.T) {
	db, err := duckdb.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, want := range map[string]string{
		"EntityEvents":      "m.entity_key = CAST(hash(CAST($1 AS TEXT)) >> 32 AS UINTEGER) AND m.entity_id = $1",
		"EntityIdentifiers": "entity_key IN (SELECT CAST(hash(x) >> 32 AS UINTEGER) FROM unnest(CAST($1 AS TEXT[])) AS ids(x)) AND entity_id IN",
	} {
		if got := db.Query(name); !strings.Contains(got, want) {
			t.Errorf("%s does not narrow by key:\n%s", name, got)
		}
	}
}
