package duckdb

import (
	"hash/maphash"

	"github.com/weftdata/weft/internal/offheap"
)

// idSet is an open-addressing hash set of 64-bit hashes of event ids: what
// the DuckDB backend uses instead of a unique index to tell new events from
// re-sent ones. A hash that is absent proves the id is new; a hash that is
// present is only a candidate, checked against the table. It costs 11 to 21
// bytes per event, against about 100 for DuckDB's ART index, and inserts
// far faster. The slots live outside the Go heap (package offheap): 128
// MB at 10M events that the collector would otherwise count as live, and
// let the heap grow by three times as much before a collection.
type idSet struct {
	seed  maphash.Seed
	slots []uint64 // 0 is empty; hash 0 is stored as 1
	n     int
	mem   *offheap.Block
}

func newIDSet() *idSet {
	mem := offheap.NewBlock()
	s := &idSet{seed: maphash.MakeSeed(), slots: offheap.Make[uint64](mem, 1<<16, 1<<16), mem: mem}
	offheap.FreeWith(s, mem)
	return s
}

func (s *idSet) hash(id string) uint64 {
	h := maphash.String(s.seed, id)
	if h == 0 {
		h = 1
	}
	return h
}

// has reports whether h may be in the set.
func (s *idSet) has(h uint64) bool {
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

func (s *idSet) add(h uint64) {
	if 4*(s.n+1) > 3*len(s.slots) {
		s.grow()
	}
	if s.insert(h) {
		s.n++
	}
}

func (s *idSet) insert(h uint64) bool {
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			return true
		}
	}
}

func (s *idSet) grow() {
	old := s.slots
	s.slots = offheap.Make[uint64](s.mem, 2*len(old), 2*len(old))
	for _, h := range old {
		if h != 0 {
			s.insert(h)
		}
	}
	offheap.Release(s.mem, old)
}
