package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// StoredConfig is one applied configuration.
type StoredConfig struct {
	// Version counts applies from 1; 0 means nothing was applied yet.
	Version int64 `json:"version"`
	// Body is the document as the user sent it (YAML or JSON).
	Body string `json:"-"`
	// Normalized is the parsed document as JSON.
	Normalized string    `json:"-"`
	AppliedAt  time.Time `json:"applied_at"`
}

// ConfigCurrent returns the configuration in force, or a zero StoredConfig
// when none was applied.
func (db *DB) ConfigCurrent(ctx context.Context) (*StoredConfig, error) {
	var c StoredConfig
	err := db.sql.QueryRowContext(ctx, db.q.get("ConfigCurrent")).Scan(&c.Version, &c.Body, &c.Normalized, &c.AppliedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return &StoredConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c.AppliedAt = c.AppliedAt.UTC()
	return &c, nil
}

// ConfigSave stores a new version of the configuration and returns it.
func (db *DB) ConfigSave(ctx context.Context, body, normalized string) (*StoredConfig, error) {
	c := StoredConfig{Body: body, Normalized: normalized, AppliedAt: db.nowUTC()}
	if err := db.sql.QueryRowContext(ctx, db.q.get("ConfigInsert"), body, normalized, c.AppliedAt).Scan(&c.Version); err != nil {
		return nil, fmt.Errorf("save config: %w", err)
	}
	return &c, nil
}
