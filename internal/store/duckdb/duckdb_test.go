package duckdb_test

import (
	"context"
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
