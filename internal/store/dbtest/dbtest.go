// Package dbtest opens a fresh, migrated store of either backend for tests
// of the stages above the store (api, stitch, ...). PostgreSQL databases
// come from pgtest, so a test binary that uses them must call pgtest.Main
// from its TestMain.
package dbtest

import (
	"context"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/duckdb"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/store/postgres"
)

// Backends names the backends every stage is tested on.
var Backends = []string{"duckdb", "postgres"}

// Open returns an empty store of the backend, closed when the test ends.
func Open(t testing.TB, backend string) *store.DB {
	t.Helper()
	var (
		s   *store.DB
		err error
	)
	switch backend {
	case "postgres":
		s, err = postgres.Open(context.Background(), pgtest.URL(t), nil)
	case "duckdb":
		s, err = duckdb.Open(context.Background(), t.TempDir(), nil)
	default:
		t.Fatalf("dbtest: unknown backend %q", backend)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Ingest sends NDJSON records through the real decoder and ingester; a
// rejected record fails the test.
func Ingest(t testing.TB, s store.Store, lines ...string) {
	t.Helper()
	b, err := event.Decode(strings.NewReader(strings.Join(lines, "\n")), event.FormatNDJSON)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rejected) > 0 {
		t.Fatalf("rejected: %v", b.Rejected)
	}
	if _, err := event.NewIngester(s, nil).Ingest(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}
