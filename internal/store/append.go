package store

import (
	"context"
	"fmt"
)

// EventAppendIn runs fn in a transaction of b (a Conn whose temporary
// tables fn reads, or the DB) in which fn may append to the event log
// with statements of its own (INSERT INTO event_log ... SELECT): the
// transaction is serialized with EventAppendMany's appends, in the process
// and, on PostgreSQL, across processes (EventAppendLock), so that seq
// order stays commit order and stitching never passes over an event that
// commits later. It is committed when fn returns nil.
func (db *DB) EventAppendIn(ctx context.Context, b Beginner, fn func(ExecutorTx) error) error {
	db.appendMu.Lock()
	defer db.appendMu.Unlock()
	tx, err := b.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, tx.Query("EventAppendLock")); err != nil {
		return fmt.Errorf("lock event log: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
