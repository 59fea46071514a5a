package erasure

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Result counts what an erasure deleted.
type Result struct {
	Entities        int64 `json:"entities"`
	Events          int64 `json:"events"`
	Identifiers     int64 `json:"identifiers"`
	AttributeValues int64 `json:"attribute_values"`
	Properties      int64 `json:"properties"`
	DeliveryLogs    int64 `json:"delivery_logs"`
	Suppressed      int64 `json:"suppressed"`
	// PluginRows counts staged plugin data and dataset rows.
	PluginRows int64 `json:"plugin_rows"`
	// Unstitched counts events not stitched yet that carried an erased
	// identifier: deleted too, so stitching cannot build the person again.
	Unstitched int64 `json:"unstitched"`
	// ReclaimMS is how long making the deleted bytes physically gone took
	// (reclaim).
	ReclaimMS  float64 `json:"reclaim_ms"`
	DurationMS float64 `json:"duration_ms"`
}

// ChunkEntities is how many entities one transaction erases: the
// statements of a chunk scan the large tables (events, attribute values)
// once each, so fewer, larger chunks are faster; the bound keeps a
// transaction's deletions (and the undo a crash costs) modest.
const ChunkEntities = 2000

// chunkEntities and afterChunk are ChunkEntities and nothing, except in
// tests that interrupt an erasure between chunks (export_test.go).
var (
	chunkEntities = ChunkEntities
	afterChunk    = func() {}
)

// Erase deletes everything Weft holds about the entities (ids of
// entities, live or merged into others) and suppresses their identifiers.
// It is idempotent: calling it again after a crash finishes the work.
//
// The entities, with every entity merged into them or they into, are
// recorded in erasure_pending first; then each chunk of them is erased in
// one transaction (suppression, attribute values and cache counts, plugin
// data, events and their mappings, identifiers, merges, entities); then
// events not stitched yet that carry an erased identifier are deleted;
// then the deleted bytes are made physically gone (reclaim); and only then
// do the pending rows go. Every Erase also finishes the pending erasures
// of earlier calls that did not end.
func Erase(ctx context.Context, db *store.DB, entities []string) (Result, error) {
	start := time.Now()
	var res Result
	// No stitching pass may run meanwhile: one that read the log and the
	// identifiers before the deletions would write the person back. The
	// idle connections go first, so that the lock is held on a new one,
	// not on one that keeps a stage's scratch tables (below).
	db.ReleaseIdle()
	unlock, err := db.LockStitching(ctx, true)
	if err != nil {
		return res, err
	}
	defer unlock()
	// Scratch copies other stages keep in temporary tables of idle
	// connections go with the connections; first, so that the server
	// processes have ended (and dropped them) before the reclaim.
	db.ReleaseIdle()
	salt, err := ensureSalt(ctx, db)
	if err != nil {
		return res, err
	}
	if len(entities) > 0 {
		if _, err := db.ExecContext(ctx, db.Query("ErasurePendingAdd"), entities, now()); err != nil {
			return res, fmt.Errorf("record the erasure: %w", err)
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	defer func() {
		for _, q := range []string{"ErasureScratchDrop", "ErasureChunkDrop"} {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), conn.Query(q))
		}
	}()
	n, err := closure(ctx, conn)
	if err != nil {
		return res, fmt.Errorf("find the entities to erase: %w", err)
	}
	touched := map[string]bool{}
	if n > 0 {
		if err := eraseChunks(ctx, conn, salt, &res, touched); err != nil {
			return res, err
		}
	}
	if res.Unstitched, err = sweepUnstitched(ctx, db, salt); err != nil {
		return res, err
	}
	if res.Unstitched > 0 {
		touched["event_log"] = true
	}
	reclaimStart := time.Now()
	if len(touched) > 0 || n > 0 {
		if err := reclaim(ctx, db, reclaimTables(touched, res.Entities < n)); err != nil {
			return res, err
		}
	}
	res.ReclaimMS = ms(time.Since(reclaimStart))
	if _, err := conn.ExecContext(ctx, conn.Query("ErasurePendingDone")); err != nil {
		return res, fmt.Errorf("finish the erasure: %w", err)
	}
	res.DurationMS = ms(time.Since(start))
	return res, nil
}

// closure fills erase_set with the pending entities and every entity
// merged into them or they into, records them as pending, and returns how
// many there are.
func closure(ctx context.Context, conn *store.Conn) (int64, error) {
	for _, q := range []string{"ErasureSetCreate", "ErasureChunkCreate", "ErasureSetClear", "ErasureSetLoad"} {
		if _, err := conn.ExecContext(ctx, conn.Query(q)); err != nil {
			return 0, err
		}
	}
	for {
		r, err := conn.ExecContext(ctx, conn.Query("ErasureSetExpand"))
		if err != nil {
			return 0, err
		}
		if added, _ := r.RowsAffected(); added == 0 {
			break
		}
	}
	if _, err := conn.ExecContext(ctx, conn.Query("ErasurePendingSave"), now()); err != nil {
		return 0, err
	}
	var n int64
	err := conn.QueryRowContext(ctx, conn.Query("ErasureSetCount")).Scan(&n)
	return n, err
}

// eraseChunks erases erase_set, ChunkEntities entities a transaction.
func eraseChunks(ctx context.Context, conn *store.Conn, salt string, res *Result, touched map[string]bool) error {
	after := ""
	for {
		if _, err := conn.ExecContext(ctx, conn.Query("ErasureChunkClear")); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, conn.Query("ErasureChunkNext"), after, chunkEntities); err != nil {
			return fmt.Errorf("next chunk of entities: %w", err)
		}
		var last string
		if err := conn.QueryRowContext(ctx, conn.Query("ErasureChunkMax")).Scan(&last); err != nil {
			return err
		}
		if last == "" {
			return nil
		}
		if err := eraseChunk(ctx, conn, salt, res, touched); err != nil {
			return fmt.Errorf("erase entities after %q: %w", after, err)
		}
		afterChunk()
		after = last
	}
}

// step is one statement of a chunk, the count it adds to, and the table
// it deletes from or updates, which must then be reclaimed ("" for none).
type step struct {
	query string
	args  []any
	count *int64
	table string
}

// eraseChunk erases the entities of erase_chunk in one transaction.
func eraseChunk(ctx context.Context, conn *store.Conn, salt string, res *Result, touched map[string]bool) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var entities, events, delivery int64
	err = tx.QueryRowContext(ctx, tx.Query("ErasureEntitiesCount")).Scan(&entities)
	if err == nil {
		err = tx.QueryRowContext(ctx, tx.Query("ErasureEventCount")).Scan(&events, &delivery)
	}
	if err != nil {
		return err
	}
	t := now()
	var ignored int64
	steps := []step{
		{"ErasureSuppress", []any{salt, t}, &res.Suppressed, ""},
		{"ErasureListMoved", nil, &ignored, ""},
		{"ErasureCastFailures", nil, &ignored, "attribute_state"},
		{"ErasureValueCounts", []any{t}, &ignored, "attribute_values_counts"},
		{"ErasureValueCountsZero", nil, &ignored, "attribute_values_counts"},
		{"ErasureCustomerCounts", []any{t}, &ignored, "attribute_customers_cache"},
		{"ErasureAttributeValues", nil, &res.AttributeValues, "customer_attributes"},
		{"ErasurePropertyCounts", nil, &ignored, "plugin_properties"},
		{"ErasurePropertyValues", nil, &res.Properties, "plugin_property_values"},
		{"ErasurePropertyStaging", nil, &res.PluginRows, "plugin_property_staging"},
		{"ErasureDatasetUsers", nil, &res.PluginRows, "plugin_dataset_users"},
		{"ErasureDatasetValues", nil, &res.PluginRows, "plugin_dataset_values"},
		{"ErasureSegmentMembers", nil, &ignored, "segment_members"},
		{"ErasureSegmentChanges", nil, &ignored, "segment_changes"},
		{"ErasureAudit", nil, &ignored, "stitch_audit"},
		{"ErasureRefused", nil, &ignored, "stitch_refused"},
		{"ErasureSplits", nil, &ignored, "stitch_splits"},
		{"ErasureConstraints", nil, &ignored, "stitch_constraints"},
		{"ErasureSegmentEventValues", nil, &ignored, "segment_event_values"},
		{"ErasureSegmentEventFields", nil, &ignored, "segment_event_fields"},
		{"ErasureEvents", nil, &ignored, "event_log"},
		{"ErasureEntityEvents", nil, &ignored, "entity_events"},
		{"ErasureIdentifiers", nil, &res.Identifiers, "identifiers"},
		{"ErasureMerges", nil, &ignored, "stitch_merges"},
		{"ErasureEntities", nil, &ignored, "entities"},
		{"ErasureStitchToken", []any{rand.Int64()}, &ignored, ""},
	}
	if err := run(ctx, tx, steps, touched); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	res.Entities += entities
	res.Events += events
	res.DeliveryLogs += delivery
	return nil
}

// run runs steps in order, adding the rows each affected to its count
// and the tables of those that affected rows to touched.
func run(ctx context.Context, e store.Executor, steps []step, touched map[string]bool) error {
	for _, s := range steps {
		r, err := e.ExecContext(ctx, e.Query(s.query), s.args...)
		if err != nil {
			return fmt.Errorf("%s: %w", s.query, err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return fmt.Errorf("%s: %w", s.query, err)
		}
		*s.count += n
		if n > 0 && s.table != "" {
			touched[s.table] = true
		}
	}
	return nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// errNoSalt is a suppression list without its salt: the state row is
// missing, which only a damaged database has.
var errNoSalt = errors.New("erasure_state has no row")

// reclaimTables are the tables to reclaim: those the erasure touched, or
// all it may touch when some of its entities were erased by an earlier
// call that did not finish (which tables that one touched is not known).
func reclaimTables(touched map[string]bool, resumed bool) []string {
	var out []string
	for _, t := range reclaimedTables {
		if resumed || touched[t] {
			out = append(out, t)
		}
	}
	return out
}
