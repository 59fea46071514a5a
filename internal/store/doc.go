// Package store is Weft's storage seam: the Store interface every stage
// talks to, the types that cross it, and the one implementation of it, DB,
// that runs shared SQL over database/sql.
//
// # Backends
//
// A backend (packages duckdb and postgres) contributes only what really
// differs between engines: how to open a connection, its numbered
// migrations, overrides of named queries whose dialect differs, and how to
// bulk-load rows (DuckDB's appender, PostgreSQL's COPY). Everything else is
// written once, in the query/*.sql files, under "-- name:" markers with
// $1-style placeholders that both engines accept.
//
// # One way in
//
// DB is the façade every stage reaches the database through. It is an
// Executor (ExecContext, QueryContext, QueryRowContext and Query, the named
// query lookup), as are Conn (one connection, for temporary tables) and Tx
// (a transaction from DB.Begin or Conn.Begin; ExecutorTx adds Commit and
// Rollback), so the same code runs inside or outside a transaction. A
// consumer declares the small interface it uses where it uses it
// (stitch.DB, attr.DB, object.DB, plugin.DB, rank.DB); none holds a raw
// *sql.DB.
//
// Fixed statements are named queries of query/*.sql; only statements built
// from user configuration are assembled in Go by the stage that owns them.
// What differs between the engines is asked of Capabilities (single
// writer, the entity key, a chunk's value replacement, index after copy,
// the JSON rewrites, arg_min/arg_max), never by comparing Dialect.
//
// # SQL from the config
//
// SQL written in the config (stitching expressions, attribute expressions
// and custom queries, context queries) reads customer data only:
// CheckConfigSQL refuses at apply what such SQL has no business doing, and
// the stages run it through RunConfigSQL (or RunConfigSQLIn inside a
// transaction), which confines it as the backend can
// (Capabilities.ConfineConfigSQL): DuckDB is opened with external access
// off and its configuration locked; PostgreSQL runs it as a restricted
// role, read only where it only reads (postgres/sandbox.go). Secrets and
// signing keys are never stored as plain values, so what DuckDB, which
// has no roles, lets such SQL read of Weft's own tables is harmless.
//
// # Event log
//
// The log, table event_log, is append-only. Every row gets a seq from one sequence,
// and appends are serialized (a mutex in process, plus an advisory lock on
// PostgreSQL) so that seq order is commit order: a later stage that has read
// everything up to seq N never sees a row with a smaller seq appear later.
// That makes seq a safe watermark.
//
// customer_events is a view of event_log with each event's customer entity
// (customer_entity_id, NULL until stitched), named as in Meiro so that user
// SQL written for it runs unchanged; Weft's own statements read event_log.
package store
