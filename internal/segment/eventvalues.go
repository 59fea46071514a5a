package segment

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// An event condition with a where or a sum reads the payload of every
// event of its type: on 10M events, the 2M purchases of eur_spenders cost
// about 1.5 s of a full run and 0.4 s of an incremental one, and a
// console builder's count as much each time, however few entities it is
// about (DuckDB decompresses every payload vector a matching row lies in,
// then parses the JSON). What such a condition computes per event (does
// the where hold, what is the field) depends on the event alone, so runs
// and previews keep it: segment_event_values holds, per condition key
// (valueKey), the seq and value of every event up to the key's filled_to
// for which the where holds. Before compiling, a run or a preview
// evaluates the events after filled_to (fill: the log's tail, seq order
// being commit order) and the query reads the kept values up to that seq
// and evaluates any later event as before. Windows and comparisons are
// not in the key: they apply to the values.
//
// The keys of the config's segments stay; of the others (a builder's
// conditions) the PreviewKeysKept most recently used stay, the rest go at
// the next run or preview.

// PreviewKeysKept is how many conditions that no segment of the config
// holds keep their per-event values.
const PreviewKeysKept = 16

// valueKey is the key of an event condition's per-event values, and
// whether it has any (a where or a sum); spec says what the key stands
// for, for a reader of segment_event_keys.
func valueKey(n *Condition) (key int64, spec string, ok bool) {
	if n.Event == "" || (n.Where == "" && n.Sum == nil) {
		return 0, "", false
	}
	field := ""
	if n.Sum != nil {
		field = n.Sum.Field
	}
	spec = strconv.Quote(n.Event) + " where " + strconv.Quote(n.Where) + " field " + strconv.Quote(field)
	h := sha256.Sum256([]byte(spec))
	return int64(binary.BigEndian.Uint64(h[:8]) >> 1), spec, true
}

// eventValue is the value per event of an event condition: the field as
// a number for a sum, 1 for a count.
func eventValue(n *Condition) string {
	if n.Sum != nil {
		return "CAST((" + n.Sum.Field + ") AS DOUBLE PRECISION)"
	}
	return "1"
}

// liveValues is the query of the per-event values (columns seq, v) of
// the log's events after seq for an event condition, with more, a
// condition on event_log ev, if set.
func liveValues(n *Condition, after int64, more string) string {
	q := "SELECT ev.seq, " + eventValue(n) + " AS v FROM event_log ev WHERE " + eventFilter(n)
	if after > 0 {
		q += " AND ev.seq > " + strconv.FormatInt(after, 10)
	}
	if more != "" {
		q += " AND " + more
	}
	if n.Where != "" {
		q += " AND (" + n.Where + ")"
	}
	return q
}

// valueConditions are the event conditions with per-event values of the
// conditions (and of the segments they refer to), by key.
func valueConditions(segments map[string]*Definition, conds ...*Condition) map[int64]*Condition {
	out := map[int64]*Condition{}
	for _, cond := range conds {
		visitWithRefs(cond, segments, func(n *Condition) {
			if k, _, ok := valueKey(n); ok {
				out[k] = n
			}
		})
	}
	return out
}

// configKeys are the keys of the config's segments' conditions.
func (e *Engine) configKeys() []int64 {
	var keys []int64
	for i := range e.defs {
		for k := range valueConditions(nil, &e.defs[i].Condition) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// keepValues fills the per-event values of the plans' conditions and
// gives their compilers the seqs they are kept up to.
func (r *run) keepValues(ctx context.Context, plans []*plan, res *RunResult) {
	if len(plans) == 0 {
		return
	}
	conds := make([]*Condition, len(plans))
	for i, p := range plans {
		conds[i] = &p.d.Condition
	}
	stop := res.timer("event values")
	vc := valueConditions(plans[0].comp.segments, conds...)
	values := r.fillValues(ctx, vc, r.payloadFields(ctx, vc, 0), 0)
	stop()
	for _, p := range plans {
		p.comp.values = values
	}
}

// fillValues brings the per-event values of the conditions up to the
// log's last event, and returns, by key, the seq up to which they are
// kept. A key that cannot be filled (its SQL fails on an event, a fill
// that raced it) is left out or kept at what was filled before: the query
// then evaluates the events after that, as without values, and a failing
// condition fails its segment alone. A fill reads the copy of the payload
// fields where fields has the key; a preview's does not fill such a key
// at all (eventfields.go), its query reads the copy. top is the log's
// last seq if the caller read it (a preview), else 0.
func (r *run) fillValues(ctx context.Context, conds map[int64]*Condition, fields map[int64]*fieldSource, top int64) map[int64]int64 {
	filled := map[int64]int64{}
	if len(conds) == 0 {
		return filled
	}
	if top == 0 {
		if err := r.conn.QueryRowContext(ctx, r.conn.Query("SegmentLogTop")).Scan(&top); err != nil {
			return filled
		}
	}
	keys := make([]int64, 0, len(conds))
	for k := range conds {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// Before reading what is kept: a key dropped after would be read as
	// filled, with no values.
	r.evictValues(ctx, keys)
	used := map[int64]time.Time{}
	if err := r.readFilled(ctx, filled, used); err != nil {
		return map[int64]int64{}
	}
	err := store.RunConfigSQL(ctx, r.conn, r.e.caps, false, func(x store.Executor) error {
		_, err := x.ExecContext(ctx, x.Query("SegmentFillCreate"))
		return err
	})
	if err != nil {
		return filled
	}
	for _, k := range keys {
		from, known := filled[k]
		if r.preview && fields[k] != nil && from < top {
			continue
		}
		if !known {
			_, spec, _ := valueKey(conds[k])
			if _, err := r.conn.ExecContext(ctx, r.conn.Query("SegmentValueKeyAdd"), k, spec, r.now); err != nil {
				continue
			}
		}
		if from >= top {
			if r.now.Sub(used[k]) >= time.Hour {
				// Eviction goes by it; a write per count would cost
				// more than the order it keeps.
				r.conn.ExecContext(ctx, r.conn.Query("SegmentValueKeyUsed"), k, r.now) //nolint:errcheck // an older used_at only makes eviction sooner
			}
			continue
		}
		if err := r.fillKey(ctx, k, conds[k], from, top, fields[k]); err != nil {
			// Another fill may have gone further: what it kept is used.
			again := map[int64]int64{}
			if r.readFilled(ctx, again, used) == nil {
				filled[k] = again[k]
			}
			continue
		}
		filled[k] = top
	}
	for k := range filled {
		if conds[k] == nil {
			delete(filled, k)
		}
	}
	return filled
}

// errRaced is a fill that found its key filled further by another.
var errRaced = errors.New("segments: values filled by another run")

// fillKey keeps the per-event values of the events in (from, to] of one
// condition, in one transaction that moves the key's filled_to. It holds
// the stitching lock shared, as a stitching pass does: an erasure (or a
// retention window) holds it alone, so a fill never reads events that one
// is deleting and commits their values after it (a snapshot read before
// the deletion would keep them, linked to no entity). A preview's fill
// does not wait for it (lockStitching).
func (r *run) fillKey(ctx context.Context, key int64, n *Condition, from, to int64, fs *fieldSource) error {
	tx, done, err := r.lockedTx(ctx)
	if err != nil {
		return err
	}
	defer done()
	err = store.RunConfigSQLIn(ctx, tx, r.e.caps, func() error {
		if _, err := tx.ExecContext(ctx, tx.Query("SegmentFillClear")); err != nil {
			return err
		}
		src := liveValues(n, from, "ev.seq <= "+strconv.FormatInt(to, 10))
		if fs != nil && fs.upto > from {
			// The copy of the fields up to its filled_to, the log after.
			upto := min(fs.upto, to)
			src = fs.values(from, upto) + "\nUNION ALL " + liveValues(n, upto, "ev.seq <= "+strconv.FormatInt(to, 10))
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO seg_fill (seq, v) "+src)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Query("SegmentValuesAppend"), key); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, tx.Query("SegmentValueKeyFilled"), key, to, from, r.now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errRaced
	}
	return tx.Commit()
}

// lockedTx begins a transaction on the run's connection holding the
// stitching lock shared (lockStitching); done rolls back what was not
// committed, then releases the lock.
func (r *run) lockedTx(ctx context.Context) (tx *store.Tx, done func(), err error) {
	unlock, err := r.lockStitching(ctx)
	if err != nil {
		return nil, nil, err
	}
	tx, err = r.conn.Begin(ctx)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return tx, func() {
		tx.Rollback() //nolint:errcheck // a no-op after Commit
		unlock()
	}, nil
}

// errErasing is a preview's fill that found the stitching lock held alone.
var errErasing = errors.New("segments: an erasure or retention holds the stitching lock")

// lockStitching takes the stitching lock shared for a fill: a run waits
// for it; a preview does not (r.preview), and evaluates the events after
// what is kept itself, as without kept values, rather than waiting for an
// erasure to end.
func (r *run) lockStitching(ctx context.Context) (func(), error) {
	if !r.preview {
		return r.e.db.LockStitching(ctx, false)
	}
	unlock, ok, err := r.e.db.TryLockStitchingShared(ctx)
	if err == nil && !ok {
		err = errErasing
	}
	return unlock, err
}

// readFilled reads every key's filled_to into filled and used_at into
// used.
func (r *run) readFilled(ctx context.Context, filled map[int64]int64, used map[int64]time.Time) error {
	rows, err := r.conn.QueryContext(ctx, r.conn.Query("SegmentValueKeys"))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k, to int64
		var at time.Time
		if err := rows.Scan(&k, &to, &at); err != nil {
			return err
		}
		filled[k], used[k] = to, at
	}
	return rows.Err()
}

// evictValues drops the values of the keys that neither a segment of the
// config nor the work at hand (using) holds, beyond the PreviewKeysKept
// most recently used. It is best effort: what stays is only disk.
func (r *run) evictValues(ctx context.Context, using []int64) {
	keep := append(r.e.configKeys(), using...)
	stale, err := int64s(ctx, r.conn, r.conn.Query("SegmentValueKeysStale"), keep, PreviewKeysKept)
	if err != nil || len(stale) == 0 {
		return
	}
	tx, err := r.conn.Begin(ctx)
	if err != nil {
		return
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, q := range []string{"SegmentValuesDrop", "SegmentValueKeysDrop"} {
		if _, err := tx.ExecContext(ctx, tx.Query(q), stale); err != nil {
			return
		}
	}
	tx.Commit() //nolint:errcheck // best effort, as above
}
