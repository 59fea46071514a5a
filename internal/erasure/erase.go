package erasure

import (
	"context"
	"errors"

	"github.com/weftdata/weft/internal/store"
)

// ErrNotImplemented is what Erase answers until the erasure lands.
// TODO(step 8): removed by the erasure branch.
var ErrNotImplemented = errors.New("erasure: not implemented yet")

// Result counts what an erasure deleted.
type Result struct {
	Entities        int64 `json:"entities"`
	Events          int64 `json:"events"`
	Identifiers     int64 `json:"identifiers"`
	AttributeValues int64 `json:"attribute_values"`
	Properties      int64 `json:"properties"`
	DeliveryLogs    int64 `json:"delivery_logs"`
	Suppressed      int64 `json:"suppressed"`
}

// Erase deletes everything Weft holds about the entities (ids of
// entities, live or merged into others) and suppresses their identifiers.
// It is idempotent: calling it again after a crash finishes the work.
func Erase(ctx context.Context, db *store.DB, entities []string) (Result, error) {
	return Result{}, ErrNotImplemented
}
