package stitch_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/stitch"
)

// TestIndexOutsideGoHeap: the resident index (its hash tables, arena,
// entities, ids and carried identifiers) lives outside the Go heap, so
// that the collector neither counts it as live heap nor lets the heap grow
// by GOGC percent of it. Dropping the index after a rebuild must free
// little of the Go heap while it had megabytes mapped; with the index on
// the heap (before), dropping it freed about its size. Not parallel: it
// reads the process's heap.
func TestIndexOutsideGoHeap(t *testing.T) {
	s := openStore(t, "duckdb")
	ctx := context.Background()
	ingest(t, s, demoLines(demo.Options{Customers: 4000, Seed: 5})...)
	eng := newEngine(t, s, demoConfig)
	if _, err := eng.Rebuild(ctx, 5000); err != nil {
		t.Fatal(err)
	}
	mapped := stitch.IndexMappedBytes(eng)
	if mapped < 1<<20 {
		t.Fatalf("the index has %d bytes mapped outside the heap, want megabytes", mapped)
	}
	withIndex := liveHeap()
	stitch.DropIndex(eng)
	without := liveHeap()
	freed := withIndex - without
	t.Logf("index: %d KiB mapped; dropping it freed %d KiB of the Go heap", mapped>>10, freed>>10)
	if freed > mapped/4 {
		t.Errorf("dropping the index freed %d KiB of the Go heap, against %d KiB mapped outside it", freed>>10, mapped>>10)
	}
	// The engine loads it again from the tables: the same partition.
	before := partition(t, s)
	if _, err := eng.Run(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if after := partition(t, s); len(after) != len(before) {
		t.Errorf("%d entities after reloading the index, %d before", len(after), len(before))
	}
}

func liveHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
