package offheap

import (
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// Block owns mapped arrays.
type Block struct {
	mu   sync.Mutex
	maps map[uintptr][]byte // by address
}

// NewBlock returns an empty Block.
func NewBlock() *Block { return &Block{maps: map[uintptr][]byte{}} }

// FreeWith unmaps b's arrays once owner is unreachable: owner must be
// the only way to the arrays (and must not be b or hold b's arrays in a
// way that b reaches back to it).
func FreeWith[O any](owner *O, b *Block) {
	runtime.AddCleanup(owner, func(b *Block) { b.Free() }, b)
}

// Free unmaps every array of b. Using one of them afterwards faults.
func (b *Block) Free() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for p, m := range b.maps {
		syscall.Munmap(m) //nolint:errcheck // nothing to do about it
		delete(b.maps, p)
	}
}

// Bytes is how much b has mapped.
func (b *Block) Bytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	for _, m := range b.maps {
		n += int64(len(m))
	}
	return n
}

// pageSize is what a mapping is rounded up to.
var pageSize = syscall.Getpagesize()

// Make returns a zeroed slice of n elements with room for capacity,
// mapped in b.
func Make[T any](b *Block, n, capacity int) []T {
	var zero T
	if hasPointers(reflect.TypeOf(zero)) {
		panic(fmt.Sprintf("offheap: %T holds pointers", zero))
	}
	capacity = max(n, capacity, 1)
	size := int(unsafe.Sizeof(zero))
	if size == 0 {
		return make([]T, n, capacity)
	}
	bytes := (capacity*size + pageSize - 1) / pageSize * pageSize
	m, err := syscall.Mmap(-1, 0, bytes, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(fmt.Sprintf("offheap: map %d bytes: %v", bytes, err))
	}
	p := unsafe.Pointer(unsafe.SliceData(m))
	b.mu.Lock()
	b.maps[uintptr(p)] = m
	b.mu.Unlock()
	return unsafe.Slice((*T)(p), bytes/size)[:n]
}

// Release unmaps s, which Make (or Grow) returned from b; other slices
// are left alone (the Go heap's).
func Release[T any](b *Block, s []T) {
	if cap(s) == 0 {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	b.mu.Lock()
	defer b.mu.Unlock()
	if m, ok := b.maps[p]; ok {
		syscall.Munmap(m) //nolint:errcheck // nothing to do about it
		delete(b.maps, p)
	}
}

// Grow returns s with room for extra more elements, moved to a mapping
// twice as large (or as large as needed) when it has no room left; the
// old mapping, if b's, is unmapped.
func Grow[T any](b *Block, s []T, extra int) []T {
	if cap(s)-len(s) >= extra {
		return s
	}
	out := Make[T](b, len(s), max(2*cap(s), len(s)+extra, 64))
	copy(out, s)
	Release(b, s)
	return out
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}
