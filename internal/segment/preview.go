package segment

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// PreviewSampleSize is how many members a preview returns.
const PreviewSampleSize = 20

// Preview is a condition tree's members now, without saving anything.
type Preview struct {
	Count int64
	// Sample are up to PreviewSampleSize member ids, in id order.
	Sample []string
}

// Preview computes the members of a condition tree that is not saved (it
// may refer to the config's segments): how many, and a sample. A bad tree
// is an *Error whose Segment is "preview".
func (e *Engine) Preview(ctx context.Context, cond *Condition) (*Preview, error) {
	if err := ValidateCondition(cond, e.defs, e.env); err != nil {
		return nil, err
	}
	props, err := properties(ctx, e.db)
	if err != nil {
		return nil, err
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	now := e.opts.Now().UTC().Truncate(time.Microsecond)
	r := &run{e: e, conn: conn, props: props, now: now, preview: true}
	defer r.dropTemp(ctx)
	comp := newCompiler(e.caps, e.env, e.defs, props, now)
	if err := r.loadProperties(ctx, comp, cond); err != nil {
		return nil, err
	}
	vc := valueConditions(comp.segments, cond)
	if len(vc) > 0 {
		// The log as the preview begins: the copy is brought up to it,
		// values are kept up to it, and they answer for every event
		// (eventjoin.go).
		if err := conn.QueryRowContext(ctx, conn.Query("SegmentLogTop")).Scan(&comp.snapshot); err != nil {
			comp.snapshot = 0
		}
		comp.fields = r.payloadFields(ctx, vc, comp.snapshot)
		comp.values = r.fillValues(ctx, vc, comp.fields, comp.snapshot)
	}
	q, err := comp.query(cond)
	if err != nil {
		return nil, &Error{Segment: "preview", Path: "condition", Err: err}
	}
	out := &Preview{Sample: []string{}}
	// The members once, then their count and the first ones: a window
	// count beside the order would carry every member through a sort.
	err = store.RunConfigSQL(ctx, conn, e.caps, true, func(x store.Executor) error {
		rows, err := x.QueryContext(ctx, fmt.Sprintf("WITH m AS MATERIALIZED (%s) SELECT s.entity_id, c.n FROM (SELECT count(*) AS n FROM m) c "+
			"LEFT JOIN (SELECT entity_id FROM m ORDER BY entity_id LIMIT %d) s ON TRUE ORDER BY s.entity_id", q, PreviewSampleSize))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id sql.NullString
			if err := rows.Scan(&id, &out.Count); err != nil {
				return err
			}
			if id.Valid {
				out.Sample = append(out.Sample, id.String)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	return out, nil
}

// loadProperties copies the values of the properties a condition reads
// into seg_props, which the members' query then reads.
func (r *run) loadProperties(ctx context.Context, comp *compiler, cond *Condition) error {
	refs := comp.usesProperties(cond)
	if len(refs) == 0 {
		return nil
	}
	var ids []string
	for _, ref := range refs {
		if p, ok := comp.resolve(ref); ok {
			ids = append(ids, p.ID)
		}
	}
	err := store.RunConfigSQL(ctx, r.conn, r.e.caps, false, func(x store.Executor) error {
		_, err := x.ExecContext(ctx, x.Query("SegmentPropsCreate"))
		return err
	})
	if err == nil {
		_, err = r.conn.ExecContext(ctx, r.conn.Query("SegmentPropsClear"))
	}
	if err == nil && len(ids) > 0 {
		fill := "SegmentPropsFill"
		if comp.local {
			fill = "SegmentPropsFillCandidates"
		}
		_, err = r.conn.ExecContext(ctx, r.conn.Query(fill), ids)
	}
	if err != nil {
		return fmt.Errorf("segments: read plugin properties: %w", err)
	}
	comp.propValues = "seg_props"
	return nil
}
