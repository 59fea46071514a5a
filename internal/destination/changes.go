package destination

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"time"

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
// each for many batches, scans that the batches share (a read costs
// about as much for 10,000 changes as for 50,000 on DuckDB).
var windowRows = 50_000

// window is the changes read after a cursor, in seq order, with the
// values of their entities' profiles (appendValues; those without
// consent missing).
type window struct {
	after    int64
	changes  []Change
	profiles map[string][]byte
	// full says the read returned as many changes as it asked for: more
	// may follow its last.
	full bool
}

// position is where a webhook of segments stands: the cursor and the end
// of the batch in flight. It is read at the run's first batch and kept
// since, as it is committed: runs of a destination never overlap, so no
// one else moves it meanwhile.
type position struct {
	cursor  int64
	pending sql.NullInt64
}

// changesBatch sends the next batch of segment changes: the one in flight
// when a crash interrupted it, else the next batch_size changes after the
// cursor. The end of a partial batch is committed before the first
// request, so that a resend covers the same changes under the same key;
// a full batch is found again as it was (no change can appear before its
// last seq: seq order is commit order).
func (j *webhookJob) changesBatch(ctx context.Context, st *WebhookState) (bool, error) {
	db, id := j.deps.DB, j.def.ID
	if j.pos == nil {
		var p position
		if err := db.QueryRowContext(ctx, db.Query("DestinationPosition"), id).Scan(&p.cursor, &p.pending); err != nil {
			return false, fmt.Errorf("read the cursor: %w", err)
		}
		j.pos = &p
	}
	cursor, pending := j.pos.cursor, j.pos.pending
	st.Cursor = cursor
	var batch []Change
	var profiles map[string][]byte
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
			end := batch[len(batch)-1].Seq
			if _, err := db.ExecContext(ctx, db.Query("DestinationPendingSet"), id, end, j.deps.now()); err != nil {
				return false, fmt.Errorf("record the batch in flight: %w", err)
			}
			j.pos.pending = sql.NullInt64{Int64: end, Valid: true}
		}
	}
	if len(batch) == 0 { // the changes in flight are gone (segments changed)
		return false, j.commit(ctx, pending.Int64, true)
	}
	last := batch[len(batch)-1].Seq
	body, sent := j.changesBody(batch, profiles)
	st.Skipped += int64(len(batch) - sent)
	if sent > 0 {
		err := j.deliver(ctx, st, ChangesKey(id, cursor, last), sent, body, func(tx store.ExecutorTx) error { return j.advance(ctx, tx, last, inFlight) })
		if err != nil {
			return false, err
		}
		j.moved(last, inFlight)
	} else if err := j.commit(ctx, last, inFlight); err != nil {
		return false, err
	}
	j.body = body[:0]
	st.Cursor = last
	return false, nil
}

// changesBody is the body of a batch: its changes of profiles with
// consent (those in profiles), and how many those are.
func (j *webhookJob) changesBody(batch []Change, profiles map[string][]byte) ([]byte, int) {
	b := append(j.body[:0], `{"changes":[`...)
	n := 0
	for i := range batch {
		vals, ok := profiles[batch[i].EntityID]
		if !ok {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = appendChange(b, &batch[i], vals)
		n++
	}
	return append(b, ']', '}'), n
}

// nextBatch is the next batch_size changes after the cursor, from the
// window read last or a new one.
func (j *webhookJob) nextBatch(ctx context.Context, cursor int64) ([]Change, map[string][]byte, error) {
	size := j.def.batchSize()
	for fresh := false; ; fresh = true {
		if w := j.win; w != nil && w.after <= cursor {
			rest := w.changes[sort.Search(len(w.changes), func(i int) bool { return w.changes[i].Seq > cursor }):]
			if len(rest) >= size || (!w.full && len(rest) > 0) || fresh {
				return rest[:min(size, len(rest))], w.profiles, nil
			}
		}
		j.win = nil // let the old window go before the new one is read
		limit := max(size, windowRows/size*size)
		w, err := j.readChanges(ctx, "DestinationChangesAfter", cursor, j.def.Segments, limit)
		if err != nil {
			return nil, nil, err
		}
		w.after, w.full = cursor, len(w.changes) == limit
		j.win = w
	}
}

// commit moves the cursor to last (advance) alone, in a transaction.
func (j *webhookJob) commit(ctx context.Context, last int64, inFlight bool) error {
	if err := j.deps.DB.InTx(ctx, func(tx store.ExecutorTx) error { return j.advance(ctx, tx, last, inFlight) }); err != nil {
		return err
	}
	j.moved(last, inFlight)
	return nil
}

// moved keeps the position a committed advance set.
func (j *webhookJob) moved(last int64, inFlight bool) {
	j.pos.cursor = last
	if inFlight {
		j.pos.pending = sql.NullInt64{}
	}
}

// advance moves the cursor to last and ends the batch in flight.
func (j *webhookJob) advance(ctx context.Context, tx store.ExecutorTx, last int64, inFlight bool) error {
	now := j.deps.now()
	res, err := tx.ExecContext(ctx, tx.Query("DestinationCursorMove"), j.def.ID, last, now)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err == nil && n == 0 { // the first batch: no cursor yet
		_, err = tx.ExecContext(ctx, tx.Query("DestinationCursorSet"), j.def.ID, last, now)
	}
	if err != nil {
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
	w := &window{changes: make([]Change, 0, windowRows)}
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
	if len(w.changes) == 0 {
		return w, nil
	}
	ids := make([]string, 0, len(w.changes))
	seen := make(map[string]bool, len(w.changes))
	for _, c := range w.changes {
		if !seen[c.EntityID] {
			seen[c.EntityID] = true
			ids = append(ids, c.EntityID)
		}
	}
	// The changes read are those of the segments in (first-1, last]: the
	// queries find their entities there rather than being sent the ids.
	span := &seqRange{after: w.changes[0].Seq - 1, upto: w.changes[len(w.changes)-1].Seq, segments: j.def.Segments}
	w.profiles, err = j.loadProfiles(ctx, scope{ids: ids, changes: span})
	return w, err
}

// Profile is a profile as a webhook without segments sends it.
type Profile struct {
	EntityID    string              `json:"entity_id"`
	Time        time.Time           `json:"time"`
	Identifiers map[string][]string `json:"identifiers"`
	Attributes  map[string]any      `json:"attributes"`
}

// scope names the entities whose profiles are read.
type scope struct {
	ids []string
	// changes, when set, says ids are the entities of these changes: the
	// queries select them from segment_changes rather than being sent the
	// ids, cheaper for the thousands of a window.
	changes *seqRange
}

// seqRange is the changes of segments in the seq range (after, upto].
type seqRange struct {
	after, upto int64
	segments    []string
}

// query is the named query name for the scope, with its arguments: pre,
// the scope's, then post.
func (s *scope) query(db store.Executor, name string, pre []any, post ...any) (string, []any) {
	args := pre
	if s.changes != nil {
		name += "Changes"
		args = append(args, s.changes.after, s.changes.upto, s.changes.segments)
	} else {
		args = append(args, s.ids)
	}
	return db.Query(name), append(args, post...)
}

// loadProfiles reads the chosen identifiers and attributes of entities,
// set-based: one query each for the whole scope, and writes them as the
// end of a JSON object (appendValues), by entity. Entities without
// consent (when the destination names a consent attribute) are left out.
func (j *webhookJob) loadProfiles(ctx context.Context, s scope) (map[string][]byte, error) {
	allowed, err := j.consenting(ctx, &s)
	if err != nil {
		return nil, err
	}
	vals := make(map[string]*profileValues, len(s.ids))
	for _, id := range s.ids {
		if allowed == nil || allowed[id] {
			vals[id] = &profileValues{}
		}
	}
	out := make(map[string][]byte, len(vals))
	if len(vals) == 0 {
		return out, nil
	}
	db := j.deps.DB
	if len(j.def.Identifiers) > 0 {
		q, args := s.query(db, "DestinationIdentifiersOf", nil, j.def.Identifiers)
		err := eachRow(ctx, db, q, func(ent, cat, v string) {
			if p := vals[ent]; p != nil {
				p.identifiers = add(p.identifiers, cat, v)
			}
		}, args...)
		if err != nil {
			return nil, fmt.Errorf("read identifiers: %w", err)
		}
	}
	if len(j.def.Attributes) > 0 {
		q, args := s.query(db, "DestinationAttributesOf", nil, j.def.Attributes)
		err := eachRow(ctx, db, q, func(ent, a, v string) {
			if p := vals[ent]; p != nil {
				p.attributes = add(p.attributes, a, v)
			}
		}, args...)
		if err != nil {
			return nil, fmt.Errorf("read attributes: %w", err)
		}
	}
	for id, p := range vals {
		b, err := appendValues(make([]byte, 0, 128), p, j.attrs)
		if err != nil {
			return nil, fmt.Errorf("entity %s: %w", id, err)
		}
		out[id] = b
	}
	return out, nil
}

// consenting is the set of the scope's entities with the destination's
// consent, or nil when it names no consent attribute (everyone).
func (j *webhookJob) consenting(ctx context.Context, s *scope) (map[string]bool, error) {
	if j.def.Consent == "" {
		return nil, nil
	}
	f := consent.Filter{Purpose: "destination:" + j.def.ID, Attribute: j.def.Consent}
	out := map[string]bool{}
	db := j.deps.DB
	q, args := s.query(db, "DestinationConsenting", f.Args())
	rows, err := db.QueryContext(ctx, q, args...)
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

// eachRow runs a query of three text columns.
func eachRow(ctx context.Context, db store.Executor, query string, fn func(a, b, c string), args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
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
