package duckdb

import (
	"fmt"
	"testing"
)

func TestIDSet(t *testing.T) {
	s := newIDSet()
	const n = 300_000 // several growths
	for i := range n {
		s.add(s.hash(fmt.Sprint("id-", i)))
	}
	s.add(s.hash("id-5")) // again: no change
	if s.n != n {
		t.Fatalf("n = %d, want %d", s.n, n)
	}
	for i := range n {
		if !s.has(s.hash(fmt.Sprint("id-", i))) {
			t.Fatalf("id-%d lost", i)
		}
	}
	misses := 0
	for i := range n {
		if s.has(s.hash(fmt.Sprint("other-", i))) {
			misses++
		}
	}
	if misses > 0 {
		t.Errorf("%d absent ids reported present (64-bit hashes should not collide here)", misses)
	}
}
