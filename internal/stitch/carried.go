package stitch

import (
	"encoding/binary"

	"github.com/weftdata/weft/internal/offheap"
)

// carriedKeys holds the identifiers of every event the passes of an index
// read, as references into its arena (where every one of them is by the
// end of the pass that read it). Re-clustering takes the identifiers of
// a region's events from here instead of evaluating the stitching rules
// on them again: on DuckDB that evaluation reads the payloads of events
// scattered over the whole log, which cost more than the passes
// themselves (27 s of a 67 s rebuild at 10M events, and most of an
// incremental pass). It costs 4 bytes per seq and 4 per identifier of an
// event: 120 MB at 10M demo events. An index loaded from tables that
// hold entities has none (the events before it are read from the log).
// Its arrays are the index's (index.mem), outside the Go heap.
type carriedKeys struct {
	first int64    // the seq of off[0]
	off   []int32  // per seq from first: its identifiers are refs[off[i]:off[i+1]]
	refs  []uint32 // into the index's arena
}

// maxCarriedGap bounds the seqs without events carriedKeys may cover (a
// log with deleted ranges): beyond it, the events are read again.
const maxCarriedGap = 1 << 24

// keep records the identifiers of b's events; false if one is not in
// the index or the seqs leave too wide a gap (then drop k).
func (k *carriedKeys) keep(x *index, b *batch) bool {
	if len(b.seqs) == 0 {
		return true
	}
	if len(k.off) == 0 {
		k.first = b.seqs[0]
		k.off = append(offheap.Grow(x.mem, k.off, 1), 0)
	}
	last := k.first + int64(len(k.off)) - 1 // the next seq to add
	if b.seqs[0] < last || b.hi-last-int64(len(b.seqs)) > maxCarriedGap {
		return false
	}
	// Room for an offset per seq up to the batch's last, and its keys.
	k.off = offheap.Grow(x.mem, k.off, int(b.seqs[len(b.seqs)-1]-last)+1)
	k.refs = offheap.Grow(x.mem, k.refs, len(b.evKeys))
	for ev, seq := range b.seqs {
		for ; last < seq; last++ {
			k.off = append(k.off, int32(len(k.refs))) // a seq without event
		}
		for _, key := range b.eventKeys(ev) {
			ref, ok := x.refOf(b.keys[key])
			if !ok {
				return false
			}
			k.refs = append(k.refs, ref)
		}
		k.off = append(k.off, int32(len(k.refs)))
		last++
	}
	return true
}

// has reports whether k holds the identifiers of the event with this seq.
func (k *carriedKeys) has(seq int64) bool {
	i := seq - k.first
	return i >= 0 && i+1 < int64(len(k.off))
}

// keys calls fn with each identifier of the event with this seq, which
// k must hold.
func (k *carriedKeys) keys(x *index, seq int64, fn func(identKey)) {
	i := seq - k.first
	for _, ref := range k.refs[k.off[i]:k.off[i+1]] {
		fn(x.keyOf(ref))
	}
}

// refOf is where k is in the arena.
func (x *index) refOf(k identKey) (uint32, bool) {
	i, ok := x.find(k)
	if !ok {
		return 0, false
	}
	return x.refs[i], true
}

// keyOf is the key stored at ref; its value points into the arena.
func (x *index) keyOf(ref uint32) identKey {
	b := x.arena[ref:]
	cat, n := binary.Uvarint(b)
	b = b[n:]
	l, n := binary.Uvarint(b)
	return identKey{int(cat), string(b[n : n+int(l)])}
}
