package attr

import (
	"context"
	"fmt"
	"time"
)

// The force operations of Meiro's setup guide, which it gives as SQL
// ("UPDATE context SET modified = NULL", "UPDATE cached_... SET modified
// = NULL", then wait for the next run), done at once.

// ContextRefresh reports RefreshContexts.
type ContextRefresh struct {
	Contexts   []ContextResult `json:"contexts"`
	Refreshed  int             `json:"refreshed"`
	Failed     int             `json:"failed"`
	DurationMS float64         `json:"duration_ms"`
}

// CacheRefresh reports RefreshCaches: per attribute, the customers with a
// value and the distinct values counted.
type CacheRefresh struct {
	Attributes []CacheCount `json:"attributes"`
	DurationMS float64      `json:"duration_ms"`
}

// CacheCount is one attribute's recounted cache.
type CacheCount struct {
	ID        string `json:"id"`
	Customers int64  `json:"customers"`
	Values    int64  `json:"values"`
}

// RefreshContexts runs every context query now, whatever the age of its
// value. A failing query keeps its old value and reports its error, as in
// a run; the values reach the attributes at their next calculation.
func (e *Engine) RefreshContexts(ctx context.Context) (*ContextRefresh, error) {
	res := &ContextRefresh{Contexts: []ContextResult{}}
	err := e.force(ctx, &res.DurationMS, func(r *run) error {
		r.forceContexts = true
		contexts, err := r.refreshContexts(ctx)
		for _, c := range contexts {
			if c.Error != "" {
				res.Failed++
			} else {
				res.Refreshed++
			}
			res.Contexts = append(res.Contexts, c)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// RefreshCaches counts the caches of every enabled attribute again from
// its values (customers with a value, and the value distribution), rather
// than from the changes runs add up.
func (e *Engine) RefreshCaches(ctx context.Context) (*CacheRefresh, error) {
	res := &CacheRefresh{Attributes: []CacheCount{}}
	err := e.force(ctx, &res.DurationMS, func(r *run) error {
		defs, err := e.selected(nil)
		if err != nil {
			return err
		}
		ids := make([]string, len(defs))
		for i, d := range defs {
			ids[i] = d.ID
		}
		if err := r.updateCaches(ctx, ids); err != nil {
			return err
		}
		res.Attributes, err = r.cacheCounts(ctx, ids)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// force runs a force operation under the engine's lock, on a connection
// of its own, and times it.
func (e *Engine) force(ctx context.Context, durationMS *float64, op func(*run) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	began := time.Now()
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := op(&run{e: e, conn: conn, deltas: deltas{}}); err != nil {
		return err
	}
	*durationMS = float64(time.Since(began).Microseconds()) / 1000
	return nil
}

// cacheCounts reads the caches of the attributes ids.
func (r *run) cacheCounts(ctx context.Context, ids []string) ([]CacheCount, error) {
	out := []CacheCount{}
	rows, err := r.conn.QueryContext(ctx, r.conn.Query("AttrCachesCounted"), ids)
	if err != nil {
		return nil, fmt.Errorf("attributes: read the recounted caches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c CacheCount
		if err := rows.Scan(&c.ID, &c.Customers, &c.Values); err != nil {
			return nil, fmt.Errorf("attributes: read the recounted caches: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("attributes: read the recounted caches: %w", err)
	}
	return out, nil
}
