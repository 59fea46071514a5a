package store

import (
	"context"
	"database/sql"
	"io/fs"
	"time"
)

// Backend is what an engine contributes to DB. Everything not here is shared.
type Backend interface {
	Capabilities
	// Name is the dialect name, "duckdb" or "postgres".
	Name() string
	// SQL is the connection pool the shared queries run on.
	SQL() *sql.DB
	// Migrations holds the backend's numbered schema migrations,
	// migrations/NNN_name.sql: those whose SQL differs between engines. A
	// version missing here is taken from the shared ones in the store
	// package; a version in both is an error.
	Migrations() fs.FS
	// QueryOverrides holds query/*.sql files of "-- name:" queries that replace shared ones of the
	// same name where the dialect differs, or nil.
	QueryOverrides() fs.FS
	// Bulk runs fn in one transaction on a connection that has an empty
	// event_staging table, and commits when fn returns nil. DB serializes
	// calls within the process.
	Bulk(ctx context.Context, fn func(BulkTx) error) error
	// Close releases what the backend holds beyond the pool.
	Close() error
}

// BulkTx is a transaction that can load many rows at once.
type BulkTx interface {
	// Exec runs one statement and returns the rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Int runs a query of one integer (NULL reads as 0).
	Int(ctx context.Context, query string, args ...any) (int64, error)
	// LoadEvents fills event_staging(id, source_id, type, version,
	// event_time, payload) with the events, in order. A backend without a
	// unique index on event_log.id must leave out the events whose id
	// is already in the log.
	LoadEvents(ctx context.Context, events []EventInsert) error
}

// EventAppender is a BulkTx that can also append events to event_log
// without staging them, which DB uses for the batches that need nothing
// of the staging table (no new source or event type, nothing to drop).
// AppendEvents must store what LoadEvents followed by
// EventInsertFromStaging would, in the same order, and return how many
// events it inserted.
type EventAppender interface {
	AppendEvents(ctx context.Context, events []EventInsert, createdAt time.Time) (int, error)
}
