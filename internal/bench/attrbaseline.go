package bench

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// attrBaselineSQL is the warehouse way of the demo attributes: staging
// relations and one GROUP BY model per attribute (see its header).
//
//go:embed attrbaseline.sql
var attrBaselineSQL string

// attrBaselineTables are the baseline's tables and views, dropped before
// and after a run.
var attrBaselineTables = []string{"bl_attribute_values", "bl_products"}

// AttrBaselineOpts describe a run of the SQL attribute baseline.
type AttrBaselineOpts struct {
	DB *store.DB
	// Values, when set, is called with every row of the long table before
	// it is dropped.
	Values func(entityID, attributeID, value string) error
}

// AttrBaselineModel is one model's part of a baseline run.
type AttrBaselineModel struct {
	ID   string
	Time time.Duration
	Rows int64
}

// AttrBaselineReport is what a run of the SQL attribute baseline measured.
type AttrBaselineReport struct {
	Time time.Duration
	// StageTime is the staging view and the products table; the models'
	// own times are in Models.
	StageTime time.Duration
	Models    []AttrBaselineModel
	Rows      int64
	// StartRSSBytes is this process's resident memory when the baseline
	// started, PeakRSSBytes its peak during the run (DuckDB included).
	StartRSSBytes, PeakRSSBytes int64
	// MemoryLimit is DuckDB's memory_limit during the run.
	MemoryLimit string
}

// ErrAttrBaselineUnsupported is returned on a backend without DuckDB's
// aggregates (arg_min/arg_max): the baseline is written for the engine
// Weft embeds.
var ErrAttrBaselineUnsupported = errors.New("the SQL attribute baseline needs arg_min/arg_max (the embedded DuckDB store)")

type attrBaselineBlock struct {
	kind, name, sql string // kind: stage or model
}

// attrBaselineBlocks splits attrbaseline.sql into its blocks, in order.
func attrBaselineBlocks() ([]attrBaselineBlock, error) {
	var blocks []attrBaselineBlock
	for _, line := range strings.Split(attrBaselineSQL, "\n") {
		if rest, ok := strings.CutPrefix(line, "-- "); ok {
			if kind, name, ok := strings.Cut(rest, ": "); ok && (kind == "stage" || kind == "model") {
				blocks = append(blocks, attrBaselineBlock{kind: kind, name: strings.TrimSpace(name)})
				continue
			}
		}
		if len(blocks) > 0 && !strings.HasPrefix(line, "--") {
			b := &blocks[len(blocks)-1]
			b.sql += line + "\n"
		}
	}
	for i := range blocks {
		blocks[i].sql = strings.TrimSuffix(strings.TrimSpace(blocks[i].sql), ";")
		if blocks[i].sql == "" {
			return nil, fmt.Errorf("attribute baseline: %s %s has no SQL", blocks[i].kind, blocks[i].name)
		}
	}
	return blocks, nil
}

// SQLAttributesBaseline calculates the demo attributes the warehouse way,
// in the store's own engine, over the entities the store's stitching made
// (entity_events): one plain GROUP BY statement per attribute
// (attrbaseline.sql), recomputed in full and written to the long table
// bl_attribute_values, dropped at the end.
func SQLAttributesBaseline(ctx context.Context, opts AttrBaselineOpts) (*AttrBaselineReport, error) {
	if !opts.DB.Capabilities().ArgMinMax() {
		return nil, ErrAttrBaselineUnsupported
	}
	blocks, err := attrBaselineBlocks()
	if err != nil {
		return nil, err
	}
	conn, err := opts.DB.Conn(ctx) // the staging view is temporary: one connection
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	defer dropAttrBaseline(conn)
	dropAttrBaseline(conn) // left over by a run that was cut short

	debug.FreeOSMemory()
	r := &AttrBaselineReport{StartRSSBytes: currentRSS(), MemoryLimit: memoryLimit(ctx, opts.DB)}
	resetPeakRSS()
	start := time.Now()
	if _, err := conn.ExecContext(ctx, "CREATE TABLE bl_attribute_values (entity_id TEXT, attribute_id TEXT, value TEXT)"); err != nil {
		return nil, fmt.Errorf("attribute baseline: %w", err)
	}
	for _, b := range blocks {
		began := time.Now()
		if b.kind == "stage" {
			if _, err := conn.ExecContext(ctx, b.sql); err != nil {
				return nil, fmt.Errorf("attribute baseline: stage %s: %w", b.name, err)
			}
			r.StageTime += time.Since(began)
			continue
		}
		res, err := conn.ExecContext(ctx, "INSERT INTO bl_attribute_values SELECT entity_id, $1, CAST(value AS TEXT) FROM ("+b.sql+") m WHERE value IS NOT NULL", b.name)
		if err != nil {
			return nil, fmt.Errorf("attribute baseline: model %s: %w", b.name, err)
		}
		n, _ := res.RowsAffected()
		r.Models = append(r.Models, AttrBaselineModel{ID: b.name, Time: time.Since(began), Rows: n})
		r.Rows += n
	}
	r.Time = time.Since(start)
	r.PeakRSSBytes = peakRSS()
	resetPeakRSS()
	if opts.Values != nil {
		if err := readAttrBaseline(ctx, conn, opts.Values); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func readAttrBaseline(ctx context.Context, conn *store.Conn, fn func(entityID, attributeID, value string) error) error {
	rows, err := conn.QueryContext(ctx, "SELECT entity_id, attribute_id, value FROM bl_attribute_values")
	if err != nil {
		return fmt.Errorf("attribute baseline: read values: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e, a, v string
		if err := rows.Scan(&e, &a, &v); err != nil {
			return err
		}
		if err := fn(e, a, v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// dropAttrBaseline drops the baseline's tables and view.
func dropAttrBaseline(conn *store.Conn) {
	ctx := context.Background()
	conn.ExecContext(ctx, "DROP VIEW IF EXISTS bl_events") //nolint:errcheck // best effort; the next run drops it first
	for _, t := range attrBaselineTables {
		conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+t) //nolint:errcheck // best effort; the next run drops them first
	}
}

// String prints the baseline's time, its staging and each model's time.
func (r *AttrBaselineReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "SQL baseline (one GROUP BY model per attribute, recomputed in full): %s, %d value rows; staging %s",
		r.Time.Round(time.Millisecond), r.Rows, r.StageTime.Round(time.Millisecond))
	for _, m := range r.Models {
		fmt.Fprintf(&b, "\n  %-28s %8.0f ms  %d rows", m.ID, float64(m.Time.Microseconds())/1000, m.Rows)
	}
	fmt.Fprintf(&b, "\nbaseline peak RSS %d MiB (%d MiB at its start), DuckDB memory_limit %s", r.PeakRSSBytes>>20, r.StartRSSBytes>>20, r.MemoryLimit)
	return b.String()
}
