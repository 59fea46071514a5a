package attr

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// ContextResult is one context query's part of a run.
type ContextResult struct {
	Key       string `json:"key"`
	Refreshed bool   `json:"refreshed"`
	Value     string `json:"value,omitempty"`
	Error     string `json:"error,omitempty"`
}

// refreshContexts makes the context table hold exactly the configured
// keys, and runs the queries that never ran, changed, or are older than
// ContextTTL. A failing query keeps its old value and records the error:
// the attributes that read it still run.
func (r *run) refreshContexts(ctx context.Context) ([]ContextResult, error) {
	keys := make([]string, len(r.e.contexts))
	for i, c := range r.e.contexts {
		keys[i] = c.Key
	}
	drop := "DELETE FROM context"
	if len(keys) > 0 {
		drop += " WHERE key NOT IN (" + quoteList(keys) + ")"
	}
	if _, err := r.exec(ctx, "drop removed contexts", drop); err != nil {
		return nil, err
	}
	now := r.e.opts.Now().UTC().Truncate(time.Microsecond)
	var out []ContextResult
	for _, c := range r.e.contexts {
		res, err := r.refreshContext(ctx, c, now)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

func (r *run) refreshContext(ctx context.Context, c Context, now time.Time) (ContextResult, error) {
	res := ContextResult{Key: c.Key}
	var query string
	var modified sql.NullTime
	var value sql.NullString
	err := r.conn.QueryRowContext(ctx, r.conn.Query("AttrContextGet"), c.Key).Scan(&query, &modified, &value)
	switch {
	case err == sql.ErrNoRows:
		if _, err := r.exec(ctx, "add context", r.conn.Query("AttrContextInsert"), c.Key, c.Query); err != nil {
			return res, err
		}
	case err != nil:
		return res, fmt.Errorf("attributes: read context %s: %w", c.Key, err)
	case !r.forceContexts && query == c.Query && modified.Valid && now.Sub(modified.Time) < r.e.opts.ContextTTL:
		res.Value = value.String
		return res, nil
	}
	var v sql.NullString
	err = store.RunConfigSQL(ctx, r.conn, r.e.caps, true, func(x store.Executor) error {
		return x.QueryRowContext(ctx, "SELECT CAST(v AS TEXT) FROM ("+c.Query+") q(v) LIMIT 1", nil...).Scan(&v)
	})
	if err != nil && err != sql.ErrNoRows {
		res.Error = err.Error()
		_, uerr := r.exec(ctx, "record context error", r.conn.Query("AttrContextError"), c.Key, c.Query, res.Error)
		return res, uerr
	}
	res.Refreshed, res.Value = true, v.String
	_, err = r.exec(ctx, "store context", r.conn.Query("AttrContextStore"), c.Key, c.Query, v, now)
	return res, err
}
