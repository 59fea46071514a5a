package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
)

// ConfigVersionListParams select a page of the config history.
type ConfigVersionListParams struct {
	// Before keeps versions below it (keyset paging); 0 starts at the
	// newest.
	Before int64
	// Limit is the most versions answered (at least 1).
	Limit int
}

// ConfigVersionList pages through the applied configurations, newest
// first, with their version and time only (Body and Normalized empty).
func (db *DB) ConfigVersionList(ctx context.Context, p ConfigVersionListParams) ([]StoredConfig, error) {
	if p.Before <= 0 {
		p.Before = math.MaxInt64
	}
	rows, err := db.sql.QueryContext(ctx, db.q.get("ConfigVersionList"), p.Before, max(p.Limit, 1))
	if err != nil {
		return nil, fmt.Errorf("list config versions: %w", err)
	}
	defer rows.Close()
	out := []StoredConfig{}
	for rows.Next() {
		var c StoredConfig
		if err := rows.Scan(&c.Version, &c.AppliedAt); err != nil {
			return nil, fmt.Errorf("list config versions: %w", err)
		}
		c.AppliedAt = c.AppliedAt.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list config versions: %w", err)
	}
	return out, nil
}

// ConfigVersionGet returns one applied configuration, ErrNotFound when no
// such version was applied.
func (db *DB) ConfigVersionGet(ctx context.Context, version int64) (*StoredConfig, error) {
	var c StoredConfig
	err := db.sql.QueryRowContext(ctx, db.q.get("ConfigVersionGet"), version).Scan(&c.Version, &c.Body, &c.Normalized, &c.AppliedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("config version %d: %w", version, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read config version %d: %w", version, err)
	}
	c.AppliedAt = c.AppliedAt.UTC()
	return &c, nil
}
