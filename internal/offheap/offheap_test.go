package offheap

import (
	"runtime"
	"testing"
	"time"
)

func TestGrowKeepsValues(t *testing.T) {
	b := NewBlock()
	defer b.Free()
	var s []int64
	for i := range 100_000 {
		s = append(Grow(b, s, 1), int64(i))
	}
	for i, v := range s {
		if v != int64(i) {
			t.Fatalf("s[%d] = %d", i, v)
		}
	}
	// One mapping is left: each growth unmapped the one before.
	if got := len(b.maps); got != 1 {
		t.Errorf("%d mappings, want 1", got)
	}
	if b.Bytes() < int64(len(s))*8 {
		t.Errorf("%d bytes mapped for %d elements", b.Bytes(), len(s))
	}
}

func TestMakeZeroed(t *testing.T) {
	b := NewBlock()
	defer b.Free()
	s := Make[[16]byte](b, 1000, 5000)
	if len(s) != 1000 || cap(s) < 5000 {
		t.Fatalf("len %d cap %d", len(s), cap(s))
	}
	for _, v := range s[:cap(s)] {
		if v != ([16]byte{}) {
			t.Fatal("not zeroed")
		}
	}
}

func TestMakeRefusesPointers(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Make of a type with pointers did not panic")
		}
	}()
	Make[struct {
		a int
		s string
	}](NewBlock(), 1, 1)
}

func TestFreeWithUnmapsWhenUnreachable(t *testing.T) {
	b := NewBlock()
	owner := &struct{ s []uint64 }{}
	owner.s = Make[uint64](b, 1<<16, 1<<16)
	FreeWith(owner, b)
	owner = nil
	for range 50 {
		runtime.GC()
		if b.Bytes() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d bytes still mapped after the owner became unreachable", b.Bytes())
}
