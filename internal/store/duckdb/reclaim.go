package duckdb

// Deleted rows are not physically gone from a DuckDB file after a
// CHECKPOINT (measured on 1.4.5): a row group keeps a deleted row's bytes
// until it is rewritten, which the checkpoint does only for row groups
// deleted whole or with a quarter of their rows deleted, and never for a
// table with an index; a rewritten or dropped segment's block goes on the
// free list with its old content, which stays in the file until new data
// is written over it. Small segments share blocks, so an UPDATE of the
// values before the DELETE is not enough either.
//
// So Reclaim rewrites each table: in one transaction its rows are copied
// aside, deleted and inserted again, which leaves every old row group
// deleted whole (the tables erasure rewrites have no index); the
// CHECKPOINT drops them; then a scratch table of hashes stored
// uncompressed, a twentieth larger than the free space, is written and
// dropped, so that every free block is overwritten (DuckDB fills the free
// list before it grows the file), and a last CHECKPOINT empties the WAL. The cost is a copy of
// each table and of the free space; the tables keep their insertion
// order, so seq ranges stay cheap to read.

// indexed are the tables with an index (a primary key): DuckDB does not
// drop their deleted row groups, so a copy would not help. They hold
// counts and metadata, never identifier values.
var indexed = map[string]bool{"attribute_customers_cache": true, "attribute_state": true, "plugin_properties": true}

func reclaim(tables []string) []string {
	var out []string
	for _, t := range tables {
		if indexed[t] {
			continue
		}
		out = append(out, "BEGIN TRANSACTION",
			"CREATE TEMP TABLE weft_reclaim AS SELECT * FROM "+t,
			"DELETE FROM "+t,
			"INSERT INTO "+t+" SELECT * FROM weft_reclaim",
			"DROP TABLE weft_reclaim",
			"COMMIT")
	}
	return append(out, "CHECKPOINT",
		"DROP TABLE IF EXISTS weft_scrub",
		scrubDDL,
		scrubFill,
		"CHECKPOINT",
		"DROP TABLE weft_scrub",
		"CHECKPOINT")
}

// The scratch table's columns are stored as they are, so its size is
// known: 16 bytes a row (random numbers would make DuckDB analyze them for
// a compression that does not pay, and take longer).
const (
	scrubDDL = `CREATE TABLE weft_scrub (a UBIGINT USING COMPRESSION 'uncompressed', b UBIGINT USING COMPRESSION 'uncompressed')`
	// LIMIT takes a subquery where range() takes only constants.
	scrubFill = `INSERT INTO weft_scrub SELECT hash(i), hash(-i) FROM range(9223372036854775807) r(i)
		LIMIT (SELECT CAST(free_blocks * block_size * 21 / 320 AS BIGINT) + 1024 FROM pragma_database_size())`
)
