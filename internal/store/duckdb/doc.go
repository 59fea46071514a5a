// Package duckdb is the embedded store backend: one DuckDB file under the
// data directory, owned by one process.
//
// It opens DuckDB with extension auto-install and auto-load off (nothing may
// reach beyond the machine), sets the session time zone to UTC, and bulk-loads
// events with DuckDB's appender into a per-connection staging table from which
// the shared SQL inserts them.
//
// # Unique event ids without an index
//
// event_log has no unique index: DuckDB's ART index on the id halves
// ingest throughput and keeps about 100 bytes an event in memory (measured
// at 3M events, see BENCHMARKS.md). Instead the backend, which owns the file
// alone, keeps a hash set of the 64-bit hashes of all ids (loaded when the
// store opens, 11 to 21 bytes an event) and stages only events whose id is
// new: an absent hash proves it; a present one is checked against the table,
// so a collision costs a lookup, never an event. Appends are serialized, and
// the set learns a batch's ids only after its commit.
package duckdb
