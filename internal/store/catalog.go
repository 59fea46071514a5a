package store

import (
	"context"
	"fmt"
)

// EventTypeList lists the catalog.
func (db *DB) EventTypeList(ctx context.Context) ([]EventType, error) {
	rows, err := db.sql.QueryContext(ctx, db.q.get("EventTypeList"))
	if err != nil {
		return nil, fmt.Errorf("list event types: %w", err)
	}
	defer rows.Close()
	var out []EventType
	for rows.Next() {
		var t EventType
		if err := rows.Scan(&t.ID, &t.SourceID, &t.Type, &t.Version, &t.CreatedAt); err != nil {
			return nil, fmt.Errorf("list event types: %w", err)
		}
		t.CreatedAt = t.CreatedAt.UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

// EventTypeRegisterMany adds event types and their sources to the catalog.
func (db *DB) EventTypeRegisterMany(ctx context.Context, keys []EventTypeKey) (int, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	now := db.nowUTC()
	added := 0
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, db.q.get("SourceInsert"), k.SourceID, now); err != nil {
			return 0, fmt.Errorf("register source %q: %w", k.SourceID, err)
		}
		res, err := tx.ExecContext(ctx, db.q.get("EventTypeInsert"), k.ID(), k.SourceID, k.Type, k.Version, now)
		if err != nil {
			return 0, fmt.Errorf("register event type %q: %w", k.ID(), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		added += int(n)
	}
	return added, tx.Commit()
}

// SourceList lists the sources.
func (db *DB) SourceList(ctx context.Context) ([]Source, error) {
	rows, err := db.sql.QueryContext(ctx, db.q.get("SourceList"))
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		var s Source
		if err := rows.Scan(&s.ID, &s.CreatedAt); err != nil {
			return nil, fmt.Errorf("list sources: %w", err)
		}
		s.CreatedAt = s.CreatedAt.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}
