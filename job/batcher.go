package job

import (
	"context"
	"sync"
)

// Batcher groups items for an operation that takes many at once, such as
// Objects.Upsert. Append flushes when Limit items are waiting; nothing
// flushes by itself otherwise, so call Flush before returning from
// Perform.
//
// Nothing is lost on error: when the operation fails, the items it was
// given are returned with the error and are no longer buffered, so the
// caller decides whether to retry them, record them or fail the run.
type Batcher[T any] struct {
	op    func(context.Context, []T) error
	limit int

	mu    sync.Mutex // guards items
	items []T
	// flushMu keeps concurrent flushes from reordering batches.
	flushMu sync.Mutex
}

// NewBatcher returns a Batcher calling op with at most limit items (100
// if limit is not positive).
func NewBatcher[T any](limit int, op func(context.Context, []T) error) *Batcher[T] {
	if limit <= 0 {
		limit = 100
	}
	return &Batcher[T]{op: op, limit: limit}
}

// Append buffers an item and, once limit items are waiting, flushes one
// batch. On error it returns the failed batch.
func (b *Batcher[T]) Append(ctx context.Context, item T) ([]T, error) {
	b.mu.Lock()
	b.items = append(b.items, item)
	full := len(b.items) >= b.limit
	b.mu.Unlock()
	if !full {
		return nil, nil
	}
	return b.flushOne(ctx, true)
}

// Flush sends everything buffered, limit items per call. On error it
// returns the failed batch; items after it stay buffered.
func (b *Batcher[T]) Flush(ctx context.Context) ([]T, error) {
	for b.Len() > 0 {
		if failed, err := b.flushOne(ctx, false); err != nil {
			return failed, err
		}
	}
	return nil, nil
}

// Len is the number of items waiting.
func (b *Batcher[T]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

// flushOne sends up to limit items; when onlyFull, only if limit items
// are waiting. An Append that found the buffer full may get here after
// another flush took the items: sending what is left would call the
// operation with a partial batch before the limit is reached.
func (b *Batcher[T]) flushOne(ctx context.Context, onlyFull bool) ([]T, error) {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	if onlyFull && len(b.items) < b.limit {
		b.mu.Unlock()
		return nil, nil
	}
	n := min(len(b.items), b.limit)
	batch := make([]T, n)
	copy(batch, b.items[:n])
	clear(b.items[:n]) // the buffer keeps no references to sent items
	b.items = b.items[n:]
	b.mu.Unlock()
	if n == 0 {
		return nil, nil
	}
	if err := b.op(ctx, batch); err != nil {
		return batch, err
	}
	return nil, nil
}
