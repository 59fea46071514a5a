// Package offheap keeps large, long-lived arrays of pointer-free values in
// memory mapped outside the Go heap.
//
// Why: the Go collector starts a cycle when the heap has grown by
// GOGC percent of what the last cycle found live (Weft runs with 300), and
// everything on the heap counts as live, pointers or not. The stitching
// index (hash tables, a byte arena, per-entity rows) and the DuckDB
// backend's set of event id hashes hold no pointers, yet at 10M events
// they are most of the live heap: each of their bytes let the heap grow
// by three more before a collection, bytes of garbage that stayed
// resident. Mapped here, they cost their own size and nothing more, and a
// soft limit on the Go heap (--go-memory-limit) bounds only the garbage.
//
// A Block owns the mappings of the arrays made through it; they are
// unmapped by Free, or when the value that owns the Block becomes
// unreachable (FreeWith). Nothing may keep a slice of a Block's array past
// that: copy what must outlive it. T must hold no pointers (a Go pointer
// in memory the collector does not scan would be freed under it); Make
// panics on a type that does.
package offheap
