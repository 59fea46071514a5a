package destination

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
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

// windowRows is about how many changes one read covers: the changes and
// the identifiers and attributes of their entities are read in one query
// each for several batches, scans that the batches share.
const windowRows = 10_000

// window is the changes read after a cursor, in seq order, with the
// profiles of their entities (those without consent missing).
type window struct {
	after    int64
	changes  []Change
	profiles map[string]*Profile
	// full says the read returned as many changes as it asked for: more
	// may follow its last.
	full bool
}

// changesBatch sends the next batch of segment changes: the one in flight
// when a crash interrupted it, else the next batch_size changes after the
// cursor. The end of a partial batch is committed before the first
// request, so that a resend covers the same changes under the same key;
// a full batch is found again as it was (no change can appear before its
// last seq: seq order is commit order).
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
	var batch []Change
	var profiles map[string]*Profile
	inFlight := pending.Valid && pending.Int64 > cursor
	if inFlight {
		w, err := j.readChanges(ctx, "DestinationChanges", cursor, pending.Int64, j.def.Segments)
		if err != nil {
			return false, err
		}
		batch, profiles = w.changes, w.profiles
	} else {
		var err error
		if batch, profiles, err = j.nextBatch(ctx, cursor); err != nil || len(batch) == 0 {
			return len(batch) == 0, err
		}
		if len(batch) < j.def.batchSize() {
			inFlight = true
			if _, err := db.ExecContext(ctx, db.Query("DestinationPendingSet"), id, batch[len(batch)-1].Seq, j.deps.now()); err != nil {
				return false, fmt.Errorf("record the batch in flight: %w", err)
			}
		}
	}
	if len(batch) == 0 { // the changes in flight are gone (segments changed)
		return false, db.InTx(ctx, func(tx store.ExecutorTx) error { return j.advance(ctx, tx, pending.Int64, true) })
	}
	last := batch[len(batch)-1].Seq
	advance := func(tx store.ExecutorTx) error { return j.advance(ctx, tx, last, inFlight) }
	changes := make([]Change, 0, len(batch))
	for _, c := range batch {
		if p := profiles[c.EntityID]; p != nil {
			c.Identifiers, c.Attributes = p.Identifiers, p.Attributes
			changes = append(changes, c)
		}
	}
	st.Skipped += int64(len(batch) - len(changes))
	if len(changes) > 0 {
		body, err := json.Marshal(ChangesBody{Changes: changes})
		if err != nil {
			return false, err
		}
		if err := j.deliver(ctx, st, ChangesKey(id, cursor, last), len(changes), body, advance); err != nil {
			return false, err
		}
	} else if err := db.InTx(ctx, advance); err != nil {
		return false, err
	}
	st.Cursor = last
	return false, nil
}

// nextBatch is the next batch_size changes after the cursor, from the
// window read last or a new one.
func (j *webhookJob) nextBatch(ctx context.Context, cursor int64) ([]Change, map[string]*Profile, error) {
	size := j.def.batchSize()
	for fresh := false; ; fresh = true {
		if w := j.win; w != nil && w.after <= cursor {
			rest := w.changes[sort.Search(len(w.changes), func(i int) bool { return w.changes[i].Seq > cursor }):]
			if len(rest) >= size || (!w.full && len(rest) > 0) || fresh {
				return rest[:min(size, len(rest))], w.profiles, nil
			}
		}
		limit := max(size, windowRows/size*size)
		w, err := j.readChanges(ctx, "DestinationChangesAfter", cursor, j.def.Segments, limit)
		if err != nil {
			return nil, nil, err
		}
		w.after, w.full = cursor, len(w.changes) == limit
		j.win = w
	}
}

// advance moves the cursor to last and ends the batch in flight.
func (j *webhookJob) advance(ctx context.Context, tx store.ExecutorTx, last int64, inFlight bool) error {
	now := j.deps.now()
	if _, err := tx.ExecContext(ctx, tx.Query("DestinationCursorSet"), j.def.ID, last, now); err != nil {
		return fmt.Errorf("move the cursor: %w", err)
	}
	if !inFlight {
		return nil
	}
	if _, err := tx.ExecContext(ctx, tx.Query("DestinationPendingSet"), j.def.ID, nil, now); err != nil {
		return fmt.Errorf("end the batch in flight: %w", err)
	}
	return nil
}

// readChanges reads changes of the destination's segments (a named query
// of seq, segment_id, entity_id, change, changed_at) and the chosen
// identifiers and attributes of their entities with consent.
func (j *webhookJob) readChanges(ctx context.Context, query string, args ...any) (*window, error) {
	db := j.deps.DB
	rows, err := db.QueryContext(ctx, db.Query(query), args...)
	if err != nil {
		return nil, fmt.Errorf("read segment changes: %w", err)
	}
	w := &window{}
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.Seq, &c.Segment, &c.EntityID, &c.Change, &c.Time); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read segment changes: %w", err)
		}
		c.Time = c.Time.UTC()
		w.changes = append(w.changes, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read segment changes: %w", err)
	}
	ids := make([]string, 0, len(w.changes))
	seen := make(map[string]bool, len(w.changes))
	for _, c := range w.changes {
		if !seen[c.EntityID] {
			seen[c.EntityID] = true
			ids = append(ids, c.EntityID)
		}
	}
	w.profiles, err = j.loadProfiles(ctx, ids)
	return w, err
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
