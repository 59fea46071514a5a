package destination

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/consent"
	"github.com/weftdata/weft/internal/store"
)

// Change is one membership change as a webhook sends it.
type Change struct {
	// Seq orders the changes (segment_changes.seq): a receiver that keeps
	// the highest seq per segment and entity is never confused by a
	// resend.
	Seq         int64               `json:"seq"`
	Segment     string              `json:"segment"`
	EntityID    string              `json:"entity_id"`
	Change      string              `json:"change"` // entered, exited
	Time        time.Time           `json:"time"`
	Identifiers map[string][]string `json:"identifiers"`
	Attributes  map[string]any      `json:"attributes"`
}

// ChangesBody is the body of a webhook of segments.
type ChangesBody struct {
	Changes []Change `json:"changes"`
}

// ChangesKey is the idempotency key of the batch of segment changes after
// the cursor up to last.
func ChangesKey(destination string, cursor, last int64) string {
	return destination + ":" + strconv.FormatInt(cursor+1, 10) + "-" + strconv.FormatInt(last, 10)
}

// changesBatch sends the next batch of segment changes: the one in flight
// when a crash interrupted it, else the next batch_size changes after the
// cursor. The end of a partial batch is committed before the first
// request, so that a resend covers the same changes under the same key.
func (j *webhookJob) changesBatch(ctx context.Context, st *WebhookState) (bool, error) {
	db, id := j.deps.DB, j.def.ID
	var cursor int64
	var pending sql.NullInt64
	if err := db.QueryRowContext(ctx, db.Query("DestinationCursorGet"), id).Scan(&cursor); err != nil {
		return false, fmt.Errorf("read the cursor: %w", err)
	}
	if err := db.QueryRowContext(ctx, db.Query("DestinationPendingGet"), id).Scan(&pending); err != nil {
		return false, fmt.Errorf("read the batch in flight: %w", err)
	}
	st.Cursor = cursor
	last := pending.Int64
	if !pending.Valid || last <= cursor {
		var n int
		if err := db.QueryRowContext(ctx, db.Query("DestinationChangesNext"), cursor, j.def.Segments, j.def.batchSize()).Scan(&last, &n); err != nil {
			return false, fmt.Errorf("find the next batch: %w", err)
		}
		if n == 0 {
			return true, nil
		}
		// A full batch is found again after a crash: no change can appear
		// before its last seq (seq order is commit order). A partial one
		// could grow, so its end is recorded before it is sent.
		if n < j.def.batchSize() {
			if _, err := db.ExecContext(ctx, db.Query("DestinationPendingSet"), id, last, j.deps.now()); err != nil {
				return false, fmt.Errorf("record the batch in flight: %w", err)
			}
		}
	}
	changes, skipped, err := j.readChanges(ctx, cursor, last)
	if err != nil {
		return false, err
	}
	advance := func(tx store.ExecutorTx) error { return j.advance(ctx, tx, last) }
	st.Skipped += int64(skipped)
	if len(changes) > 0 {
		body, err := json.Marshal(ChangesBody{Changes: changes})
		if err != nil {
			return false, err
		}
		err = j.deliver(ctx, st, ChangesKey(id, cursor, last), len(changes), body, advance)
		if err != nil {
			return false, err
		}
	} else if err := db.InTx(ctx, advance); err != nil {
		return false, err
	}
	st.Cursor = last
	return false, nil
}

// advance moves the cursor to last and ends the batch in flight.
func (j *webhookJob) advance(ctx context.Context, tx store.ExecutorTx, last int64) error {
	now := j.deps.now()
	if _, err := tx.ExecContext(ctx, tx.Query("DestinationCursorSet"), j.def.ID, last, now); err != nil {
		return fmt.Errorf("move the cursor: %w", err)
	}
	if _, err := tx.ExecContext(ctx, tx.Query("DestinationPendingSet"), j.def.ID, nil, now); err != nil {
		return fmt.Errorf("end the batch in flight: %w", err)
	}
	return nil
}

// readChanges reads the changes of the destination's segments after
// cursor up to last, those of profiles without consent left out (and
// counted), with the chosen identifiers and attributes.
func (j *webhookJob) readChanges(ctx context.Context, cursor, last int64) ([]Change, int, error) {
	db := j.deps.DB
	rows, err := db.QueryContext(ctx, db.Query("DestinationChanges"), cursor, last, j.def.Segments)
	if err != nil {
		return nil, 0, fmt.Errorf("read segment changes: %w", err)
	}
	var all []Change
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.Seq, &c.Segment, &c.EntityID, &c.Change, &c.Time); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("read segment changes: %w", err)
		}
		c.Time = c.Time.UTC()
		all = append(all, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read segment changes: %w", err)
	}
	ids := make([]string, 0, len(all))
	seen := make(map[string]bool, len(all))
	for _, c := range all {
		if !seen[c.EntityID] {
			seen[c.EntityID] = true
			ids = append(ids, c.EntityID)
		}
	}
	p, err := j.loadProfiles(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	out := all[:0]
	for _, c := range all {
		if prof, ok := p[c.EntityID]; ok {
			c.Identifiers, c.Attributes = prof.Identifiers, prof.Attributes
			out = append(out, c)
		}
	}
	return out, len(all) - len(out), nil
}

// Profile is a profile as a webhook without segments sends it.
type Profile struct {
	EntityID    string              `json:"entity_id"`
	Time        time.Time           `json:"time"`
	Identifiers map[string][]string `json:"identifiers"`
	Attributes  map[string]any      `json:"attributes"`
}

// loadProfiles reads the chosen identifiers and attributes of entities,
// set-based: one query each for the whole batch. Entities without
// consent (when the destination names a consent attribute) are left out.
func (j *webhookJob) loadProfiles(ctx context.Context, ids []string) (map[string]*Profile, error) {
	out := make(map[string]*Profile, len(ids))
	allowed, err := j.consenting(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if allowed == nil || allowed[id] {
			out[id] = &Profile{EntityID: id, Identifiers: map[string][]string{}, Attributes: map[string]any{}}
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	db := j.deps.DB
	if len(j.def.Identifiers) > 0 {
		err := eachRow(ctx, db, "DestinationIdentifiersOf", func(ent, cat, v string) {
			if p := out[ent]; p != nil {
				p.Identifiers[cat] = append(p.Identifiers[cat], v)
			}
		}, ids, j.def.Identifiers)
		if err != nil {
			return nil, fmt.Errorf("read identifiers: %w", err)
		}
	}
	if len(j.def.Attributes) > 0 {
		raw := map[string]map[string][]string{}
		err := eachRow(ctx, db, "DestinationAttributesOf", func(ent, a, v string) {
			if raw[ent] == nil {
				raw[ent] = map[string][]string{}
			}
			raw[ent][a] = append(raw[ent][a], v)
		}, ids, j.def.Attributes)
		if err != nil {
			return nil, fmt.Errorf("read attributes: %w", err)
		}
		for ent, vals := range raw {
			if p := out[ent]; p != nil {
				p.Attributes = attr.JSONValues(j.cfg.Attributes, vals)
			}
		}
	}
	return out, nil
}

// consenting is the set of ids with the destination's consent, or nil
// when it names no consent attribute (everyone).
func (j *webhookJob) consenting(ctx context.Context, ids []string) (map[string]bool, error) {
	if j.def.Consent == "" {
		return nil, nil
	}
	f := consent.Filter{Purpose: "destination:" + j.def.ID, Attribute: j.def.Consent}
	out := map[string]bool{}
	db := j.deps.DB
	rows, err := db.QueryContext(ctx, db.Query("DestinationConsenting"), append(f.Args(), ids)...)
	if err != nil {
		return nil, fmt.Errorf("read consent: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read consent: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// eachRow runs a named query of three text columns.
func eachRow(ctx context.Context, db store.Executor, name string, fn func(a, b, c string), args ...any) error {
	rows, err := db.QueryContext(ctx, db.Query(name), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a, b, c string
		if err := rows.Scan(&a, &b, &c); err != nil {
			return err
		}
		fn(a, b, c)
	}
	return rows.Err()
}
