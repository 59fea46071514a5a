package store

import (
	"context"
	"fmt"
)

// EntityKeyTables are the tables whose entity_key column holds
// Capabilities.EntityKey of their entity_id, on a backend that has it.
var EntityKeyTables = []string{"customer_attributes", "entity_events", "identifiers"}

// EntityKeyWriter is what computing the keys needs: *DB and *Conn.
type EntityKeyWriter interface {
	Executor
	Begin(ctx context.Context) (*Tx, error)
}

// CheckEntityKeys computes the entity keys of every EntityKeyTables row
// again when they were computed with another hash function than this
// DuckDB's (an upgrade): attribute_meta.key_check holds the hash of a
// fixed text from when they were. DuckDB's Open runs it, so no reader
// narrows by stale keys; nothing to do where the backend has no keys.
func CheckEntityKeys(ctx context.Context, db EntityKeyWriter, caps Capabilities) error {
	if caps.EntityKey() == "" {
		return nil
	}
	var same bool
	if err := db.QueryRowContext(ctx, db.Query("AttrKeyCheck")).Scan(&same); err != nil {
		return fmt.Errorf("check entity keys: %w", err)
	}
	if same {
		return nil
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := ComputeEntityKeys(ctx, tx, caps); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Query("AttrKeyCheckSet")); err != nil {
		return fmt.Errorf("compute entity keys: %w", err)
	}
	return tx.Commit()
}

// ComputeEntityKeys sets the entity key of every row of EntityKeyTables
// from its entity_id; nothing where the backend has no keys. Tests that
// insert rows by hand call it after.
func ComputeEntityKeys(ctx context.Context, x Executor, caps Capabilities) error {
	key := caps.EntityKey()
	if key == "" {
		return nil
	}
	for _, t := range EntityKeyTables {
		if _, err := x.ExecContext(ctx, "UPDATE "+t+" SET entity_key = "+key); err != nil {
			return fmt.Errorf("compute entity keys of %s: %w", t, err)
		}
	}
	return nil
}
