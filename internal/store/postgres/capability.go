package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/weftdata/weft/internal/sqlrewrite"
	"github.com/weftdata/weft/internal/store"
)

// PostgreSQL serves several processes at once.
func (b *backend) SingleWriter() bool { return false }

// EntityKey: customer_attributes has no compact key on PostgreSQL; its
// index on entity_id finds a chunk's rows.
func (b *backend) EntityKey() string { return "" }

func (b *backend) EntityKeyOf(string) string { return "" }

func (b *backend) ChunkValuesReplace(attrs string) store.ChunkReplace {
	which := "entity_id IN (SELECT entity_id FROM attr_due)" + attrs
	return store.ChunkReplace{
		Read: "SELECT attribute_id, entity_id, value FROM customer_attributes WHERE " + which,
		Delete: `DELETE FROM customer_attributes a USING attr_changed c
			WHERE a.entity_id = c.entity_id AND a.attribute_id = c.attribute_id`,
	}
}

// IndexAfterCopy: without an index and statistics PostgreSQL scans the
// whole copy once per lookup (a custom query looks up each entity's events).
func (b *backend) IndexAfterCopy(table, column string) []string {
	return []string{"CREATE INDEX " + table + "_" + column + "_idx ON " + table + " (" + column + ")", "ANALYZE " + table}
}

// JSONExtractOnce rewrites nothing: PostgreSQL parses jsonb once, on write.
func (b *backend) JSONExtractOnce(exprs []string, column string) ([]string, string) {
	return exprs, ""
}

func (b *backend) JSONArrayElementsOnce(expr string) string { return expr }

// ArgMinMax: PostgreSQL has no arg_min/arg_max; DISTINCT ON picks the row.
func (b *backend) ArgMinMax() bool { return false }

// SortedSum is an ordered aggregate.
func (b *backend) SortedSum(fn, expr string) string {
	return fn + "(" + expr + " ORDER BY " + expr + ")"
}

// SetsByJoins: PostgreSQL keeps set operations (see the interface).
func (b *backend) SetsByJoins() bool { return false }

// FiltersAfterSelectiveJoin: PostgreSQL filters in the scan (see the
// interface).
func (b *backend) FiltersAfterSelectiveJoin() bool { return false }

// ScanPerConstant: PostgreSQL tests a list in its scan (see the
// interface).
func (b *backend) ScanPerConstant() bool { return false }

// SafeCast calls weft_try_cast (migration 020): PostgreSQL has no
// TRY_CAST. A type modifier (numeric(10,2)) is applied by a cast after it.
func (b *backend) SafeCast(operand, typ string) (string, bool) {
	if sqlrewrite.CastFamily(typ) == "" {
		return "", false
	}
	safe := "weft_try_cast(" + operand + ", CAST(NULL AS " + typ + "))"
	if strings.Contains(typ, "(") {
		safe = "CAST(" + safe + " AS " + typ + ")"
	}
	return safe, true
}

// conversionCodes are the SQLSTATEs of a value that does not convert to a
// type: invalid text representation, out of range, datetime format and
// overflow, invalid character value for cast.
var conversionCodes = map[string]bool{"22P02": true, "22003": true, "22007": true, "22008": true, "22018": true}

// ConversionError reports the data exceptions (SQLSTATE class 22) of a
// cast; others, such as a division by zero, stay errors.
func (b *backend) ConversionError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && conversionCodes[pe.Code]
}

// ExportFolder: PostgreSQL has no Parquet writer, and its server's files
// may be on another machine.
func (b *backend) ExportFolder() string { return "" }

// Reclaim rewrites the tables with VACUUM FULL. A plain VACUUM frees the
// deleted rows' space for reuse but leaves their bytes in the pages until
// new rows overwrite them; VACUUM FULL copies the live rows into new files
// and rebuilds the indexes, and the old files are truncated when it
// commits. It holds an ACCESS EXCLUSIVE lock on each table while it runs
// (ingestion waits for event_log's) and costs time in proportion to the
// table's size. ANALYZE replaces the columns' statistics, whose most
// common values and histograms in pg_statistic hold sample values, and
// pg_statistic is rewritten too: only a superuser may, so for other roles
// PostgreSQL skips it with a warning, and the old statistics' bytes stay
// until autovacuum prunes them and new rows overwrite them. The WAL keeps
// the rows' original inserts until its segments are recycled (package
// erasure documents the bound).
func (b *backend) Reclaim(ctx context.Context, conn store.Executor, tables []string) error {
	stmts := make([]string, 0, len(tables)+1)
	for _, t := range tables {
		stmts = append(stmts, "VACUUM (FULL, ANALYZE) "+t)
	}
	for _, q := range append(stmts, "VACUUM FULL pg_catalog.pg_statistic") {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func (b *backend) PayloadFields() bool { return false }

func (b *backend) JoinsInSeqParts() bool { return false }
