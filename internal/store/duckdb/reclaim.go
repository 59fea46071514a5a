package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Deleted rows are not physically gone from a DuckDB file after a
// CHECKPOINT (measured on 1.4.5): a row group keeps a deleted row's bytes
// until it is rewritten, which the checkpoint does only for row groups
// deleted whole or with a quarter of their rows deleted, and never for a
// table with an index; a rewritten or dropped segment's block goes on the
// free list with its old content, which stays in the file until new data
// is written over it. Small segments share blocks, so an UPDATE of the
// values before the DELETE is not enough either.
//
// So Reclaim rewrites the row groups that hold deleted rows, and only
// those: their live rows are copied to the end of the table and the
// originals deleted, in one transaction, which leaves each such row group
// deleted whole (the tables erasure rewrites have no index); the
// CHECKPOINT drops them. It moves moveRows rows (about 32 row groups) at a time, with a
// CHECKPOINT after each move: the blocks a move frees are where the next
// move's copies are written (DuckDB fills the free list before it grows
// the file), so the copies themselves overwrite most of the freed blocks,
// and the scrub below is left with about one move's worth instead of the
// whole of what was moved (measured at 1M events: the scrub wrote about as
// much as the move of event_log, and the file grew by the table's size). Row groups without a deleted row keep their
// blocks, so the cost follows the row groups the deleted rows were spread
// over, not the table: a retention pass (old events, at the start of the
// log) rewrites the few row groups it emptied partly, an erasure of people
// whose events are spread over the whole log rewrites most of it. Which
// row groups hold deleted rows is read from the layout (pragma_storage_info
// counts the rows a row group stores, deleted ones included) against the
// live rows of each group's rowid range (counted in one scan), in the
// rewrite's transaction, so
// rowids cannot move under it (a checkpoint renumbers them only when no
// transaction is open).
//
// Then a scratch table of hashes stored uncompressed, a twentieth larger
// than the free space, is written and dropped, so that every free block is
// overwritten (DuckDB fills the free list before it grows the file), and a
// last CHECKPOINT empties the WAL. The moved rows are at the end of the
// table: seq ranges stay cheap to read (zone maps) except for the
// rewritten rows' row groups, whose seqs are spread.

// indexed are the tables with an index (a primary key): DuckDB does not
// drop their deleted row groups, so a copy would not help (and a copy of
// a keyed row beside its original breaks the key). They hold counts,
// metadata and Weft's random entity ids (segment memberships and
// changes), never identifier values or events. segment_changes has had
// no key since migration 036, segment_members no index since 037; they are
// left as before, for what they hold.
var indexed = map[string]bool{"attribute_customers_cache": true, "attribute_state": true, "plugin_properties": true,
	"segment_members": true, "segment_changes": true}

// Reclaim rewrites the row groups of tables that hold deleted rows, then
// scrubs the free blocks (see above). It runs on one connection.
func (b *backend) Reclaim(ctx context.Context, conn store.Executor, tables []string) error {
	for _, t := range tables {
		if indexed[t] {
			continue
		}
		if err := rewriteDeleted(ctx, conn, t); err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return fmt.Errorf("rewrite the row groups of %s holding deleted rows: %w", t, err)
		}
	}
	for _, q := range []string{"CHECKPOINT", "DROP TABLE IF EXISTS weft_scrub", scrubDDL, scrubFill, "CHECKPOINT",
		"DROP TABLE weft_scrub", "CHECKPOINT"} {
		exec := conn.ExecContext
		if q == "CHECKPOINT" {
			exec = checkpoint(conn)
		}
		if _, err := exec(ctx, q); err != nil {
			return fmt.Errorf("scrub the free blocks: %s: %w", strings.Fields(q)[0], err)
		}
	}
	return nil
}

// moveRows bounds the rows one move copies: about 32 row groups (a
// variable for the tests). Each move costs a CHECKPOINT, and its copies
// end in a row group DuckDB's parallel insert leaves partly filled, which
// a CHECKPOINT may merge with its neighbours by rewriting them. Erasing
// 1,000 people (2026-12-07): at 1M events, moves of 32 row groups took 7
// to 18% less CPU than moves of 8 and left the same file; at 10M, 54.5
// and 56.6 s of CPU against 60.7 s, for a file 0.3 GB larger after it
// (2.96 against 2.64 GB: the free space one move leaves, reused by later
// writes).
var moveRows int64 = 32 * 122_880

// rewriteDeleted moves the live rows of the table's row groups that hold
// deleted rows to the end of the table, moveRows at a time, each move in
// one transaction and followed by a CHECKPOINT, which drops the row groups
// it left deleted whole and puts their blocks on the free list.
func rewriteDeleted(ctx context.Context, conn store.Executor, table string) error {
	// A moved group is left with no live rows, so it is never picked
	// again; the bound only guards against a layout that does not behave
	// so (then the final CHECKPOINT drops what the moves left).
	for range 1000 {
		moved, err := moveSome(ctx, conn, table)
		if err != nil || !moved {
			return err
		}
		if _, err := checkpoint(conn)(ctx, "CHECKPOINT"); err != nil {
			return err
		}
	}
	return nil
}

// checkpointWait bounds how long a CHECKPOINT waits for the other write
// transactions of the process (an ingest, a job) to end.
const checkpointWait = 2 * time.Minute

// checkpoint returns an exec of CHECKPOINT that tries again while other
// write transactions are active: DuckDB refuses to checkpoint beside them,
// and a server keeps writing while an erasure reclaims.
func checkpoint(conn store.Executor) func(context.Context, string, ...any) (sql.Result, error) {
	return func(ctx context.Context, q string, args ...any) (sql.Result, error) {
		deadline := time.Now().Add(checkpointWait)
		for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
			res, err := conn.ExecContext(ctx, q, args...)
			if err == nil || !strings.Contains(err.Error(), "other write transactions") || time.Now().After(deadline) {
				return res, err
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
		}
	}
}

// moveSome moves the live rows of the first row groups holding deleted
// rows, up to about moveRows stored rows, in one transaction, and reports
// whether there were any.
func moveSome(ctx context.Context, conn store.Executor, table string) (bool, error) {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return false, err
	}
	ranges, err := deletedRanges(ctx, conn, table, moveRows)
	if err != nil {
		return false, err
	}
	if len(ranges) > 0 {
		where := rowidIn(ranges)
		// The copies get rowids of the transaction's own, above every
		// stored one: the DELETE's ranges do not reach them.
		for _, q := range []string{"INSERT INTO " + table + " SELECT * FROM " + table + " WHERE " + where,
			"DELETE FROM " + table + " WHERE " + where} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return false, err
			}
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return len(ranges) > 0, err
}

// rowRange is the rowids [lo, hi) of one or more adjacent row groups.
type rowRange struct{ lo, hi int64 }

// deletedRanges are the rowid ranges of the table's first row groups
// that store more rows than they hold live ones, and hold some, up to
// about limit stored rows, adjacent groups merged. A group with no live
// row is left out: there is nothing to move, the CHECKPOINT drops it.
func deletedRanges(ctx context.Context, conn store.Executor, table string, limit int64) ([]rowRange, error) {
	groups, err := rowGroups(ctx, conn, table)
	if err != nil || len(groups) == 0 {
		return nil, err
	}
	live, err := liveRows(ctx, conn, table, groups)
	if err != nil {
		return nil, err
	}
	var out []rowRange
	for i, g := range groups {
		if limit <= 0 {
			break
		}
		if live[i] == g.hi-g.lo || live[i] == 0 {
			continue
		}
		limit -= g.hi - g.lo
		if n := len(out); n > 0 && out[n-1].hi == g.lo {
			out[n-1].hi = g.hi
		} else {
			out = append(out, g)
		}
	}
	return out, nil
}

// liveRows counts the live rows of each group in one scan of the table's
// rowids: histogram puts each rowid in the first bin whose bound is not
// below it (a binary search). A count per group was a scan of the whole
// table each, as DuckDB does not skip row groups by a rowid range: at 10M
// events that was 10 of the 28 s of CPU the reclaim of
// customer_attributes took. A group without live rows has no bin.
func liveRows(ctx context.Context, conn store.Executor, table string, groups []rowRange) ([]int64, error) {
	bounds := make([]string, len(groups))
	index := make(map[int64]int, len(groups))
	for i, g := range groups {
		bounds[i] = strconv.FormatInt(g.hi-1, 10)
		index[g.hi-1] = i
	}
	rows, err := conn.QueryContext(ctx, "SELECT unnest(map_keys(h)), unnest(map_values(h)) FROM (SELECT histogram(rowid, ["+
		strings.Join(bounds, ", ")+"]) AS h FROM "+table+") x")
	if err != nil {
		return nil, fmt.Errorf("count the live rows of the row groups: %w", err)
	}
	defer rows.Close()
	live := make([]int64, len(groups))
	for rows.Next() {
		var bound, n int64
		if err := rows.Scan(&bound, &n); err != nil {
			return nil, fmt.Errorf("count the live rows of the row groups: %w", err)
		}
		if i, ok := index[bound]; ok {
			live[i] = n
		}
	}
	return live, rows.Err()
}

// rowGroups are the rowid ranges of the table's row groups, in order: a
// row group's rows follow the previous one's, and its first column's data
// segments count every row it stores.
func rowGroups(ctx context.Context, conn store.Executor, table string) ([]rowRange, error) {
	rows, err := conn.QueryContext(ctx, `SELECT sum(count) FROM pragma_storage_info('`+table+`')
		WHERE column_id = 0 AND column_path = '[0]' GROUP BY row_group_id ORDER BY row_group_id`)
	if err != nil {
		return nil, fmt.Errorf("read the row groups: %w", err)
	}
	defer rows.Close()
	var out []rowRange
	var next int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, rowRange{next, next + n})
		next += n
	}
	return out, rows.Err()
}

// rowidIn is the condition of the rows in ranges.
func rowidIn(ranges []rowRange) string {
	parts := make([]string, len(ranges))
	for i, r := range ranges {
		parts[i] = fmt.Sprintf("(rowid >= %d AND rowid < %d)", r.lo, r.hi)
	}
	return strings.Join(parts, " OR ")
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
