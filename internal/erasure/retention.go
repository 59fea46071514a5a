package erasure

import (
	"context"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/store"
)

// RetentionWindow is how many seqs of the log one retention transaction
// covers: DuckDB's zone maps on seq skip the rest of the log.
const RetentionWindow = 1_000_000

// RetentionResult counts what a retention pass deleted.
type RetentionResult struct {
	// Events deleted, per source entry ("*" included).
	Events  int64            `json:"events"`
	Sources map[string]int64 `json:"sources"`
	// Entities whose events were deleted: their attributes are due again.
	Entities   int64   `json:"entities"`
	ReclaimMS  float64 `json:"reclaim_ms"`
	DurationMS float64 `json:"duration_ms"`
}

// retentionTables are the tables retention deletes from.
var retentionTables = []string{"event_log", "entity_events", "attribute_state", "segment_event_values", "segment_event_fields"}

// Retain deletes the events older than their source's period (by
// event_time, as of now) with their stitching mappings, marks their
// entities' attributes due, and makes the deleted bytes physically gone as
// Erase does. Identifiers and entities stay: a person whose old events
// are gone is still the same person when they come back, and an erasure
// request still finds them. Each window of RetentionWindow seqs is one
// transaction, so a crash leaves whole windows done and the next run does
// the rest.
func Retain(ctx context.Context, db *store.DB, rules []config.Retention, now time.Time) (RetentionResult, error) {
	start := time.Now()
	res := RetentionResult{Sources: map[string]int64{}}
	if len(rules) == 0 {
		return res, nil
	}
	named := []string{config.RetentionAll}
	for _, r := range rules {
		named = append(named, r.Source)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, conn.Query("RetentionSeqsCreate")); err != nil {
		return res, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), conn.Query("RetentionSeqsDrop")) //nolint:errcheck // scratch
	for _, r := range rules {
		keep, err := r.KeepDuration()
		if err != nil {
			return res, err
		}
		cut := now.Add(-keep).UTC()
		if err := retainSource(ctx, db, conn, r.Source, cut, named, &res); err != nil {
			return res, fmt.Errorf("retention of source %s: %w", r.Source, err)
		}
	}
	if res.Events > 0 {
		t := time.Now()
		if err := reclaim(ctx, db, retentionTables); err != nil {
			return res, err
		}
		res.ReclaimMS = ms(time.Since(t))
	}
	res.DurationMS = ms(time.Since(start))
	return res, nil
}

// retainSource deletes one source's (or "*"'s) events older than cut.
func retainSource(ctx context.Context, db *store.DB, conn *store.Conn, source string, cut time.Time, named []string, res *RetentionResult) error {
	var lo, hi int64
	if err := conn.QueryRowContext(ctx, conn.Query("RetentionBounds"), cut, source, named).Scan(&lo, &hi); err != nil {
		return err
	}
	if hi == 0 {
		return nil
	}
	for from := lo - 1; from < hi; from += RetentionWindow {
		events, entities, err := retainWindow(ctx, db, conn, []any{cut, source, named, from, min(from+RetentionWindow, hi)})
		if err != nil {
			return err
		}
		res.Events += events
		res.Sources[source] += events
		res.Entities += entities
	}
	return nil
}

// retainWindow deletes the window's old events in one transaction,
// holding the stitching lock alone as an erasure does: the segments' fill
// of per-event values (package segment), which holds it shared, then never
// reads events the window deletes and keeps their values after it.
func retainWindow(ctx context.Context, db *store.DB, conn *store.Conn, args []any) (events, entities int64, err error) {
	unlock, err := db.LockStitching(ctx, true)
	if err != nil {
		return 0, 0, err
	}
	defer unlock()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var ignored int64
	err = run(ctx, tx, []step{
		{"RetentionSeqsClear", nil, &ignored, ""},
		{"RetentionSeqsLoad", args, &ignored, ""},
		{"RetentionMarkEntities", []any{now()}, &entities, ""},
		{"RetentionCastFailures", nil, &ignored, ""},
		{"RetentionEntityEvents", nil, &ignored, ""},
		{"RetentionSegmentEventValues", nil, &ignored, ""},
		{"RetentionSegmentEventFields", nil, &ignored, ""},
		{"RetentionEvents", nil, &events, ""},
	}, map[string]bool{})
	if err != nil {
		return 0, 0, err
	}
	return events, entities, tx.Commit()
}
