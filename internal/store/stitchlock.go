package store

import (
	"context"
	"fmt"
)

// LockStitching serializes an erasure against stitching passes. A pass
// reads events after the watermark and the identifier index, resolves,
// then writes; an erasure that ran in between (deleting the entity, its
// identifiers and the unstitched events carrying them) would have the
// pass write mappings and identifiers of the person it erased. Passes
// take the lock shared (they already exclude each other through the
// watermark), an erasure exclusive. The segments' fills of per-event
// values take it shared too, and retention windows exclusive, for the same
// reason (a fill must not keep values of events being deleted). In one
// process (DuckDB) it is a read-write mutex; on PostgreSQL, whose
// processes share the database, a session advisory lock on a connection
// held until unlock.
func (db *DB) LockStitching(ctx context.Context, exclusive bool) (unlock func(), err error) {
	if db.backend.SingleWriter() {
		if exclusive {
			db.stitchMu.Lock()
			return db.stitchMu.Unlock, nil
		}
		db.stitchMu.RLock()
		return db.stitchMu.RUnlock, nil
	}
	lock, release := "StitchingLockShared", "StitchingUnlockShared"
	if exclusive {
		lock, release = "StitchingLock", "StitchingUnlock"
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, db.q.get(lock)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("wait for the stitching lock: %w", err)
	}
	return db.releaseOn(conn, release), nil
}

// releaseOn is the unlock of a session lock held on conn: release, then
// the connection back to the pool.
func (db *DB) releaseOn(conn *Conn, release string) func() {
	return func() {
		// A failed unlock leaves a broken connection, which the pool
		// discards, and PostgreSQL drops its locks with the session.
		_, _ = conn.ExecContext(context.Background(), db.q.get(release))
		conn.Close()
	}
}

// TryLockStitchingShared takes the stitching lock shared if no one holds
// it alone, without waiting, and reports whether it did: for work that
// has a way around the lock (a preview evaluates the events itself rather
// than waiting for an erasure to end). unlock is nil when ok is false.
func (db *DB) TryLockStitchingShared(ctx context.Context) (unlock func(), ok bool, err error) {
	if db.backend.SingleWriter() {
		if !db.stitchMu.TryRLock() {
			return nil, false, nil
		}
		return db.stitchMu.RUnlock, true, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, false, err
	}
	if err := conn.QueryRowContext(ctx, db.q.get("StitchingTryLockShared")).Scan(&ok); err != nil || !ok {
		conn.Close()
		return nil, false, err
	}
	return db.releaseOn(conn, "StitchingUnlockShared"), true, nil
}
