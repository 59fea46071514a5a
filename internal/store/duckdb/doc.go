// Package duckdb is the embedded store backend: one DuckDB file under the
// data directory, owned by one process.
//
// It opens DuckDB with extension auto-install and auto-load off (nothing may
// reach beyond the machine), sets the session time zone to UTC, and bulk-loads
// events with DuckDB's appender into a per-connection staging table from which
// the shared SQL inserts them.
package duckdb
