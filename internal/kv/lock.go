package kv

import (
	"context"
	"sync"
)

// keyLocks serializes the writes of one key within the process, whichever
// Store value makes them, so that goroutines do not spend their
// compare-and-swap attempts racing each other.
var keyLocks = &lockTable{held: map[string]*keyLock{}}

type lockTable struct {
	mu   sync.Mutex
	held map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds a token while locked
	refs int           // holders and waiters
}

// lock waits for the key's lock, or for ctx to end, and returns the
// function that releases it.
func (t *lockTable) lock(ctx context.Context, key string) (func(), error) {
	t.mu.Lock()
	l := t.held[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		t.held[key] = l
	}
	l.refs++
	t.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; t.release(key, l) }, nil
	case <-ctx.Done():
		t.release(key, l)
		return nil, ctx.Err()
	}
}

func (t *lockTable) release(key string, l *keyLock) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(t.held, key)
	}
}
