package erasure

import (
	"context"
	"fmt"

	"github.com/weftdata/weft/internal/store"
)

// erasedTables are the tables an erasure deletes from (the package doc
// lists every table and why the others are left alone).
var erasedTables = []string{
	"event_log", "entity_events", "identifiers", "entities", "stitch_merges", "stitch_audit",
	"customer_attributes", "attribute_values_counts", "attribute_customers_cache", "attribute_state",
	"plugin_properties", "plugin_property_values", "plugin_property_staging",
	"plugin_dataset_users", "plugin_dataset_values",
	"segment_members", "segment_changes",
}

// reclaim makes the bytes of the rows deleted from tables physically gone
// from the database's files (store.Capabilities.Reclaim), on one
// connection.
func reclaim(ctx context.Context, db *store.DB, tables []string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := db.Capabilities().Reclaim(ctx, conn, tables); err != nil {
		return fmt.Errorf("reclaim the deleted rows' space: %w", err)
	}
	return nil
}
