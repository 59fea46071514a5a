package stitch

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/weftdata/weft/internal/store"
)

// identKey is one identifier.
type identKey struct {
	cat   int
	value string
}

// batch is what one pass reads.
type batch struct {
	lo, hi int64
	seqs   []int64 // sorted
	ats    []int64 // per event: event_time in microseconds
	// Event i's id is idBytes[idStart[i]:idEnd[i]] (id): copied out of the
	// packed rows, in one array without pointers. As strings pointing into
	// those rows, the ids kept all of the rows alive (110 MB of a 10M
	// rebuild's live heap of 450 MB), which the collector let the heap
	// grow to four times.
	idBytes        []byte
	idStart, idEnd []uint32
	dense          bool // seqs are lo+1..hi
	// keys are the batch's identifiers (blocked ones left out), numbered
	// by keyIx.
	keys  []identKey
	keyIx map[identKey]int32
	// Event i's identifiers are keys[evKeys[evOff[i]:evOff[i+1]]], in
	// linking order, without repeats.
	evOff  []int32
	evKeys []int32
	audit  map[auditKey]*auditRow
	// amb marks the keys earlier passes found ambiguous (ambiguous.go);
	// nil if none is.
	amb []bool
}

func (b *batch) markAmbiguous(k int32) {
	if b.amb == nil {
		b.amb = make([]bool, len(b.keys))
	}
	b.amb[k] = true
}

// id is the id of event i.
func (b *batch) id(i int) string { return string(b.idBytes[b.idStart[i]:b.idEnd[i]]) }

// setID records the id of event i.
func (b *batch) setID(i int, id string) error {
	if len(b.idBytes)+len(id) > math.MaxUint32 {
		return fmt.Errorf("the ids of events %d..%d pass 4 GiB", b.lo+1, b.hi)
	}
	b.idStart[i] = uint32(len(b.idBytes))
	b.idBytes = append(b.idBytes, id...)
	b.idEnd[i] = uint32(len(b.idBytes))
	return nil
}

func (b *batch) eventKeys(i int) []int32 { return b.evKeys[b.evOff[i]:b.evOff[i+1]] }

type auditKey struct {
	cat    int
	value  string
	reason string
}

type auditRow struct {
	events   int64
	firstSeq int64
}

func (b *batch) audit1(k auditKey, seq int64) {
	if r, ok := b.audit[k]; ok {
		r.events++
		// The smallest: the rules' rows come in no fixed order.
		r.firstSeq = min(r.firstSeq, seq)
		return
	}
	k.value = strings.Clone(k.value) // it may point into a packed row
	b.audit[k] = &auditRow{events: 1, firstSeq: seq}
}

// index is the position of the event with this seq, or -1.
func (b *batch) index(seq int64) int {
	if seq <= b.lo || seq > b.hi {
		return -1
	}
	if b.dense {
		return int(seq - b.lo - 1)
	}
	i, ok := slices.BinarySearch(b.seqs, seq)
	if !ok {
		return -1
	}
	return i
}

// read loads the batch of up to size events after seq lo, and their
// identifiers; nil if there are none.
func (e *Engine) read(ctx context.Context, lo int64, size int) (*batch, error) {
	// Seqs come from a sequence, so the next size seqs usually hold size
	// events: a count over a seq range, which zone maps make cheap, says so.
	var n int64
	var hi sql.NullInt64
	err := e.db.QueryRowContext(ctx, e.db.Query("StitchBatchBounds"), lo, lo+int64(size)).Scan(&n, &hi)
	if err == nil && n < int64(size) {
		// Gaps, or the end of the log.
		err = e.db.QueryRowContext(ctx, e.db.Query("StitchBatchBoundsSparse"), lo, size).Scan(&n, &hi)
	}
	if err != nil {
		return nil, fmt.Errorf("find batch: %w", err)
	}
	if !hi.Valid {
		return nil, nil
	}
	b := &batch{lo: lo, hi: hi.Int64, audit: map[auditKey]*auditRow{}, keyIx: map[identKey]int32{}}
	if n == b.hi-b.lo {
		// No gaps (the usual case): the seqs need not be read.
		b.dense = true
		b.seqs = make([]int64, n)
		for i := range b.seqs {
			b.seqs[i] = b.lo + 1 + int64(i)
		}
	} else {
		b.seqs = make([]int64, 0, n)
		err := scanPacked(ctx, e.db, "SELECT string_agg(CAST(seq AS TEXT), chr(31)) FROM event_log WHERE seq > $1 AND seq <= $2 GROUP BY seq - seq % 65536",
			[]any{b.lo, b.hi}, 1, func(f []string) error {
				seq, err := strconv.ParseInt(f[0], 10, 64)
				b.seqs = append(b.seqs, seq)
				return err
			})
		if err != nil {
			return nil, fmt.Errorf("read batch: %w", err)
		}
		slices.Sort(b.seqs)
	}
	// The ids and event times name entities (the MD5 of their first
	// event's id). Read here, ahead of the pass, they cost the pass nothing.
	b.idStart, b.idEnd = make([]uint32, len(b.seqs)), make([]uint32, len(b.seqs))
	b.idBytes = make([]byte, 0, 40*len(b.seqs))
	b.ats = make([]int64, len(b.seqs))
	err = scanPacked(ctx, e.db, "SELECT string_agg(concat(seq, chr(30), "+eventTimeSQL+", chr(30), "+escapeSQL("id")+"), chr(31)) FROM event_log WHERE seq > $1 AND seq <= $2 GROUP BY seq - seq % 65536",
		[]any{b.lo, b.hi}, 3, func(f []string) error {
			seq, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return err
			}
			i := b.index(seq)
			if i < 0 {
				return fmt.Errorf("event %d is not in the batch", seq)
			}
			if b.ats[i], err = strconv.ParseInt(f[1], 10, 64); err != nil {
				return err
			}
			return b.setID(i, unescape(f[2]))
		})
	if err != nil {
		return nil, fmt.Errorf("read event ids: %w", err)
	}
	b.evOff = make([]int32, len(b.seqs)+1)
	if len(e.rules) == 0 {
		return b, nil
	}
	// (event, key) pairs as the query returns them, grouped by event below.
	var pairEv, pairKey []int32
	pair := func(f []string) error {
		seq, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return err
		}
		rule, err := strconv.Atoi(f[1])
		if err != nil || rule < 0 || rule >= len(e.rules) {
			return fmt.Errorf("bad rule number %q", f[1])
		}
		i := b.index(seq)
		if i < 0 {
			return fmt.Errorf("event %d is not in the batch", seq)
		}
		k := identKey{e.rules[rule].cat, unescape(f[2])}
		ix, ok := b.keyIx[k]
		if !ok {
			if e.isBlocked(k) {
				b.audit1(auditKey{k.cat, k.value, "blocked"}, seq)
				return nil
			}
			k.value = strings.Clone(k.value) // f[2] points into the whole packed row
			ix = int32(len(b.keys))
			b.keys = append(b.keys, k)
			b.keyIx[k] = ix
		}
		pairEv, pairKey = append(pairEv, int32(i)), append(pairKey, ix)
		return nil
	}
	err = e.confined(ctx, func(x store.Executor) error {
		return scanPacked(ctx, x, "SELECT string_agg(concat(seq, chr(30), rule, chr(30), "+escapeSQL("v")+"), chr(31)) FROM (\n"+
			e.extractSQL(logWhere(seqRange))+"\n) x GROUP BY seq - seq % 65536", []any{b.lo, b.hi}, 3, pair)
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate stitching rules: %w", err)
	}
	// Group the pairs by event (a counting sort), then order each event's
	// keys for linking.
	for _, ev := range pairEv {
		b.evOff[ev+1]++
	}
	for i := 1; i < len(b.evOff); i++ {
		b.evOff[i] += b.evOff[i-1]
	}
	b.evKeys = make([]int32, len(pairKey))
	next := slices.Clone(b.evOff[:len(b.seqs)])
	for j, ev := range pairEv {
		b.evKeys[next[ev]] = pairKey[j]
		next[ev]++
	}
	// Drop repeats and close the gaps.
	w := int32(0)
	for i := range b.seqs {
		ks := b.evKeys[b.evOff[i]:b.evOff[i+1]]
		if len(ks) > 1 {
			slices.SortFunc(ks, func(x, y int32) int { return e.linkCompare(b.keys[x], b.keys[y]) })
		}
		b.evOff[i] = w
		for j, k := range ks {
			if j == 0 || k != ks[j-1] {
				b.evKeys[w] = k
				w++
			}
		}
	}
	b.evOff[len(b.seqs)] = w
	b.evKeys = b.evKeys[:w]
	return b, nil
}

// eventTimeSQL is an event's event_time in microseconds, the same on both
// backends.
const eventTimeSQL = "CAST(floor(extract(epoch FROM event_time) * 1000000) AS BIGINT)"

// scanPacked runs a query that returns packed rows (see pack.go): text
// values of elements separated by 0x1f, each of n fields separated by 0x1e
// (the last field may hold 0x1e), and calls fn with each element's fields.
// The fields point into the row: fn must copy what it keeps.
func scanPacked(ctx context.Context, db store.Executor, query string, args []any, n int, fn func([]string) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	fields := make([]string, 0, n)
	for rows.Next() {
		var packed sql.NullString
		if err := rows.Scan(&packed); err != nil {
			return err
		}
		for elem := range strings.SplitSeq(packed.String, string(sepElem)) {
			if elem == "" {
				continue
			}
			fields = fields[:0]
			for len(fields) < n-1 {
				f, rest, ok := strings.Cut(elem, string(sepField))
				if !ok {
					return fmt.Errorf("packed row %q has fewer than %d fields", elem, n)
				}
				fields, elem = append(fields, f), rest
			}
			fields = append(fields, elem)
			if err := fn(fields); err != nil {
				return err
			}
		}
	}
	return rows.Err()
}
