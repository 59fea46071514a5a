package identitygraph

import (
	"context"

	"github.com/weftdata/weft/internal/store"
)

// Store is what the graph reads (*store.DB).
type Store interface {
	ProfileIdentifierLinks(ctx context.Context, id string, limit int) ([]store.IdentifierLink, error)
	ProfileRefusedSeqs(ctx context.Context, id string, limit int) ([]int64, error)
	ProfileRefusedAmong(ctx context.Context, seqs []int64, limit int) ([]int64, error)
	ProfileEventsAt(ctx context.Context, seqs []int64) ([]store.Event, error)
	ProfileEventIdentifiers(ctx context.Context, rules func(from string) (string, error), seqs []int64) ([]store.EventIdentifier, error)
	ProfileLinkStates(ctx context.Context, categories, values []string) ([]store.LinkState, error)
	GraphEventIdentifiers(ctx context.Context, rules func(from string) (string, error), id string, limit int) ([]store.GraphRow, error)
	GraphRefused(ctx context.Context, id string, limit int) ([]store.RefusedLink, error)
}

var _ Store = (*store.DB)(nil)
