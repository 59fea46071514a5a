package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Options tune a DB. A nil *Options means all defaults.
type Options struct {
	// Now is the clock used for created_at columns. Default time.Now.
	Now func() time.Time
}

// DB implements Store with shared SQL over a Backend.
type DB struct {
	executor // the pool with the named queries
	sql      *sql.DB
	backend  Backend
	now      func() time.Time

	// appendMu serializes appends within the process; see the package doc.
	appendMu sync.Mutex
	// knownTypes are event types known to be in the catalog (appendMu).
	knownTypes map[EventTypeKey]struct{}
	// stitchMu is LockStitching in one process (stitchlock.go).
	stitchMu sync.RWMutex
}

var _ Store = (*DB)(nil)

// Open wraps a backend, loads its queries and applies pending migrations.
// On error the backend is closed.
func Open(ctx context.Context, b Backend, opts *Options) (*DB, error) {
	db, err := open(ctx, b, opts)
	if err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

func open(ctx context.Context, b Backend, opts *Options) (*DB, error) {
	q, err := loadQueries(b.QueryOverrides())
	if err != nil {
		return nil, fmt.Errorf("load %s queries: %w", b.Name(), err)
	}
	q.narrowByKeys(b.EntityKeyOf)
	db := &DB{executor: executor{b.SQL(), q}, sql: b.SQL(), backend: b, now: time.Now, knownTypes: map[EventTypeKey]struct{}{}}
	if opts != nil && opts.Now != nil {
		db.now = opts.Now
	}
	if err := db.migrate(ctx, b.Migrations()); err != nil {
		return nil, fmt.Errorf("migrate %s: %w", b.Name(), err)
	}
	return db, nil
}

// Dialect names the backend, for display only (/healthz, bench output):
// callers ask Capabilities, never compare it.
func (db *DB) Dialect() string { return db.backend.Name() }

// Close closes the backend.
func (db *DB) Close() error { return db.backend.Close() }

// nowUTC is the clock reading stored in created_at columns, in microseconds
// like every timestamp in the store.
func (db *DB) nowUTC() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// Stats counts events, event types, sources and what stitching built.
func (db *DB) Stats(ctx context.Context) (*Stats, error) {
	s := Stats{Identifiers: map[string]int64{}, Audit: map[string]AuditCount{}}
	err := db.sql.QueryRowContext(ctx, db.q.get("Stats")).Scan(&s.Events, &s.EventTypes, &s.Sources, &s.MaxSeq)
	if err == nil {
		err = db.sql.QueryRowContext(ctx, db.q.get("StitchStats")).Scan(&s.Entities, &s.MergedEntities, &s.Merges, &s.StitchedSeq)
	}
	if err == nil {
		err = db.stitchStats(ctx, &s)
	}
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return &s, nil
}

func (db *DB) stitchStats(ctx context.Context, s *Stats) error {
	var largest EntitySize
	err := db.sql.QueryRowContext(ctx, db.q.get("StitchLargestEntity")).Scan(&largest.ID, &largest.Events)
	switch {
	case err == nil:
		s.LargestEntity = &largest
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	err = db.each(ctx, "StitchIdentifierCounts", func(rows *sql.Rows) error {
		var cat string
		var n int64
		err := rows.Scan(&cat, &n)
		s.Identifiers[cat] = n
		return err
	})
	if err != nil {
		return err
	}
	return db.each(ctx, "StitchAuditCounts", func(rows *sql.Rows) error {
		var reason string
		var c AuditCount
		err := rows.Scan(&reason, &c.Values, &c.Events)
		s.Audit[reason] = c
		return err
	})
}

// each runs a named query and calls fn for each row.
func (db *DB) each(ctx context.Context, name string, fn func(*sql.Rows) error, args ...any) error {
	rows, err := db.sql.QueryContext(ctx, db.q.get(name), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// idleConnsDefault is database/sql's default of idle connections kept.
const idleConnsDefault = 2

// ReleaseIdle closes the pool's idle connections, and with them the
// temporary tables they hold: stages keep scratch copies of customer data
// there between runs (the attribute engine's chunk tables), which an
// erasure must not leave behind. Connections in use are not touched.
func (db *DB) ReleaseIdle() {
	db.sql.SetMaxIdleConns(0)
	db.sql.SetMaxIdleConns(idleConnsDefault)
}
