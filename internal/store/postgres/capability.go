package postgres

import "github.com/weftdata/weft/internal/store"

// PostgreSQL serves several processes at once.
func (b *backend) SingleWriter() bool { return false }

// EntityKey: customer_attributes has no compact key on PostgreSQL; its
// index on entity_id finds a chunk's rows.
func (b *backend) EntityKey() string { return "" }

func (b *backend) ChunkValuesReplace(attrs string) store.ChunkReplace {
	which := "entity_id IN (SELECT entity_id FROM attr_due)" + attrs
	return store.ChunkReplace{
		Read:   "SELECT attribute_id, entity_id, value FROM customer_attributes WHERE " + which,
		Delete: "DELETE FROM customer_attributes WHERE " + which,
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
