package postgres_test

import (
	"context"
	"testing"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/store/postgres"
	"github.com/weftdata/weft/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	storetest.Exercise(t, storetest.Backend{
		NewLocation: func(t *testing.T) string { return pgtest.URL(t) },
		Open: func(ctx context.Context, loc string, opts *store.Options) (store.Store, error) {
			return postgres.Open(ctx, loc, opts)
		},
	})
}
