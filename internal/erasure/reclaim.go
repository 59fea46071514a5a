package erasure

import (
	"context"
	"fmt"

	"github.com/weftdata/weft/internal/store"
)

// reclaimedTables are the tables an erasure deletes from whose rows hold
// what a person gave or what was learnt about them (event payloads and
// the segments' values and copies of payload fields kept of them, identifier values, attribute,
// property and plugin values): the bytes of
// their deleted rows are made physically gone. The package doc lists every
// table and why the others are left alone.
var reclaimedTables = []string{
	"event_log", "identifiers", "stitch_merges", "stitch_audit",
	"stitch_refused", "stitch_splits", "stitch_constraints",
	"customer_attributes", "attribute_values_counts",
	"plugin_property_values", "plugin_property_staging",
	"plugin_dataset_users", "plugin_dataset_values", "segment_event_values",
	"segment_event_fields",
}

// The erasure also deletes from tables whose rows hold only Weft's own
// ids, counts and times: entity_events (event seqs, entity ids, and the
// events' sources, types and times, copies of the log's: no payload),
// entities (entity ids, seqs, times, counts of identifiers per category),
// attribute_customers_cache and plugin_properties (counts),
// attribute_state (an event id), segment_members and segment_changes
// (entity and segment ids, times). Their deleted rows are not reclaimed:
// an entity id is the MD5 of the id of the entity's first event, a
// pseudonym that names no one once the person's events, identifiers and
// values are gone, and rewriting entity_events (one row per event) cost
// nearly as much as rewriting the events.

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
