package store

import "context"

// Capabilities are what differs between the engines, asked by the callers
// instead of comparing dialect names (river's SupportsListener and
// SQLFragmentColumnIn are the model). Each backend has one implementation;
// the conformance suite (storetest) runs the fragments on both.
type Capabilities interface {
	// SingleWriter reports that one process at a time may write the
	// database (DuckDB): jobs run exclusively and writes are serialized
	// in the process.
	SingleWriter() bool

	// EntityKey is the SQL expression over entity_id of the compact
	// entity_key column of customer_attributes, entity_events and
	// identifiers (EntityKeyTables), or "" when the backend's tables have
	// none (migrations 015 and 038 add it on DuckDB). Every writer of those
	// tables sets it: readers narrow by the integer key first, then
	// compare the ids.
	EntityKey() string

	// EntityKeyOf is EntityKey over another expression (a column of
	// another table, a bound parameter), "" when EntityKey is.
	EntityKeyOf(expr string) string

	// ChunkValuesReplace returns the statements that read the
	// customer_attributes rows of the entities of the temporary table
	// attr_due, of the attributes whose condition attrs is (empty for
	// all, else " AND attribute_id IN (...)"), and delete those of them
	// whose values changed, before the new values are inserted, all in
	// one transaction.
	ChunkValuesReplace(attrs string) ChunkReplace

	// IndexAfterCopy returns the statements that make a freshly copied
	// table fast to look up by a column (an index and statistics), or
	// none when the engine joins such a copy by hash without them. A
	// backend that needs none also reads a shared copy of the events
	// faster than it joins the log again per statement.
	IndexAfterCopy(table, column string) []string

	// JSONExtractOnce rewrites column->>'key' operands in exprs so that
	// each row's JSON document is parsed once for all keys, and returns
	// the rewritten expressions with the select-list item that the rows
	// they read must carry ("" when nothing was rewritten, always on an
	// engine that gains nothing from it). See package sqlrewrite.
	JSONExtractOnce(exprs []string, column string) (rewritten []string, parsed string)

	// JSONArrayElementsOnce rewrites json(b)_array_elements(payload->'key')
	// in expr so that the engine parses the payload once (or returns expr).
	JSONArrayElementsOnce(expr string) string

	// ArgMinMax reports arg_min and arg_max aggregates ordered by a row
	// value, which pick one row per group without the sort that
	// DISTINCT ON costs.
	ArgMinMax() bool

	// SortedSum is the aggregate fn ("sum" or "avg") of the DOUBLE
	// PRECISION expr that adds the values in ascending order, NULLs
	// ignored: a sum of floating-point numbers depends on the order it
	// adds them in, and a parallel aggregation's order changes from run to
	// run, so the last digits of a plain sum did too (an attribute's value
	// changed with nothing changed, and its caches with it). Sorted, the
	// same values give the same result whatever the order of the rows.
	SortedSum(fn, expr string) string

	// SetsByJoins reports that the engine evaluates a condition tree of
	// sets of entity ids (package segment) faster as semi and anti joins
	// (IN and NOT IN over subqueries) than as set operations (INTERSECT,
	// EXCEPT, UNION), which hash both sides again to remove duplicates:
	// DuckDB, where NOT IN is a hash mark join. PostgreSQL keeps the set
	// operations: it runs NOT IN row by row once the subquery outgrows
	// work_mem, and with the row counts of its estimates off (temporary
	// tables without statistics) it picks nested loops for joins, where
	// a hashed set operation costs the same whatever the estimates.
	SetsByJoins() bool

	// PayloadFields reports that segment conditions may read the payload
	// fields of events from segment_event_fields, a copy of the top-level
	// fields of each event type's payloads as text that package segment
	// keeps (eventfields.go), rather than from the payloads: DuckDB, where
	// evaluating a new condition decompresses and parses every payload of
	// its type (0.7 to 1.2 s of 2M purchases at 10M events). PostgreSQL
	// reads the log as before and keeps no such copy.
	PayloadFields() bool

	// JoinsInSeqParts reports that a join by seq of millions of events
	// (package segment: kept or copied per-event values to the entities'
	// events) is faster as a UNION ALL of joins of ranges of seqs: DuckDB,
	// whose hash table of a range stays in the processor's caches where
	// one of millions of rows is probed at a cache miss a row, and whose
	// zone maps skip the other ranges' row groups of tables stored in
	// about seq order. PostgreSQL joins once, as planned.
	JoinsInSeqParts() bool

	// FiltersAfterSelectiveJoin reports that a filter over several columns
	// of a large table joined to a few rows costs less on the join's rows
	// than in the table's scan: DuckDB applies in a scan only the filters
	// of one column and evaluates an OR across columns row by row above
	// it, on every row of the table. PostgreSQL filters in its scan as
	// cheaply (and copied more rows, more slowly, with the test moved).
	FiltersAfterSelectiveJoin() bool

	// ScanPerConstant reports that rows of a large table whose column is
	// one of a few constants are read faster by one scan per constant
	// (UNION ALL) than by one scan testing the list: DuckDB tests a single
	// constant in its scan, and skips the row groups whose zone maps
	// exclude it, but tests a list of more than a few above the scan, as a
	// join, on every row. PostgreSQL tests a list as cheaply, and each more
	// scan reads its indexes again.
	ScanPerConstant() bool

	// SafeCast is the form of a cast of operand to typ that gives NULL for
	// a value that does not convert (sqlrewrite.SafeCasts), or false for a
	// type it leaves as written (sqlrewrite.CastFamily names those it
	// handles).
	SafeCast(operand, typ string) (string, bool)

	// ConversionError reports whether err is a statement's failure on a
	// value that did not convert to a type.
	ConversionError(err error) bool

	// ConfineConfigSQL returns the statements that, run first in a
	// transaction, confine the rest of it to what SQL from the config
	// may do (configsql.go): a restricted role, and with readOnly a
	// read-only transaction. None where the engine confines every
	// statement from the start (DuckDB: external access off and the
	// configuration locked at open).
	ConfineConfigSQL(readOnly bool) []string
	// UnconfineConfigSQL returns the statements that give a transaction
	// confined with ConfineConfigSQL(false) back to Weft's own role.
	UnconfineConfigSQL() []string
	// GrantConfigSQLRead returns the statements that let config SQL read a
	// table or view Weft has just (re)created, such as
	// pivoted_customer_attributes.
	GrantConfigSQLRead(table string) []string
	// ExportFolder is the folder of this machine (ending in a separator)
	// into which the engine's own COPY ... TO may write files, such as
	// Parquet, for Weft to pass on; "" when the engine writes none that
	// Weft could read (PostgreSQL: its server may be another machine).
	ExportFolder() string
	// Reclaim makes the bytes of the rows deleted from tables physically
	// gone from the database's files (package erasure says within what
	// bound). It runs its statements on conn, one connection, outside a
	// transaction, and rolls back what it leaves open when it fails.
	Reclaim(ctx context.Context, conn Executor, tables []string) error
}

// ChunkReplace are the statements of Capabilities.ChunkValuesReplace.
type ChunkReplace struct {
	// Prepare runs first, in order.
	Prepare []string
	// Read selects the old rows (attribute_id, entity_id, value).
	Read string
	// Delete deletes the rows of Read whose (attribute_id, entity_id)
	// pair is in the temporary table attr_changed (columns attribute_id
	// and entity_id): the pairs whose values changed.
	Delete string
}

// Capabilities reports what the backend can do.
func (db *DB) Capabilities() Capabilities { return db.backend }
