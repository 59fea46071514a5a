package job_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/job"
)

// recorder is a batch operation that keeps the batches it was given.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	fail    func(call int) error // nil: never fails
}

func (r *recorder) op(_ context.Context, batch []int) error {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(batch))
	call := len(r.batches)
	r.mu.Unlock()
	if r.fail != nil {
		return r.fail(call)
	}
	return nil
}

func (r *recorder) got() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func appendAll(t *testing.T, b *job.Batcher[int], items ...int) {
	t.Helper()
	for _, it := range items {
		if failed, err := b.Append(context.Background(), it); err != nil {
			t.Fatalf("append %d: %v (failed %v)", it, err, failed)
		}
	}
}

func TestBatcherCallsAtLimit(t *testing.T) {
	var r recorder
	b := job.NewBatcher(3, r.op)
	appendAll(t, b, 1, 2)
	equal(t, "batches below the limit", r.got(), [][]int(nil))
	appendAll(t, b, 3)
	equal(t, "batches at the limit", r.got(), [][]int{{1, 2, 3}})
	appendAll(t, b, 4, 5, 6, 7)
	equal(t, "batches", r.got(), [][]int{{1, 2, 3}, {4, 5, 6}})
	equal(t, "waiting", b.Len(), 1)

	if _, err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	equal(t, "batches after flush", r.got(), [][]int{{1, 2, 3}, {4, 5, 6}, {7}})
	equal(t, "waiting after flush", b.Len(), 0)

	// An empty flush calls nothing.
	if _, err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	equal(t, "calls after an empty flush", len(r.got()), 3)
	if _, err := job.NewBatcher(5, r.op).Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	equal(t, "calls after flushing a new batcher", len(r.got()), 3)
}

func TestBatcherDefaultLimit(t *testing.T) {
	var r recorder
	b := job.NewBatcher(0, r.op)
	for i := range 100 {
		appendAll(t, b, i)
	}
	if got := r.got(); len(got) != 1 || len(got[0]) != 100 {
		t.Fatalf("batches of a batcher with limit 0 after 100 appends: %v", got)
	}
}

func TestBatcherFailedBatchIsReturned(t *testing.T) {
	boom := errors.New("boom")
	r := recorder{fail: func(call int) error {
		if call == 2 {
			return boom
		}
		return nil
	}}
	b := job.NewBatcher(2, r.op)
	appendAll(t, b, 1, 2, 3)
	failed, err := b.Append(context.Background(), 4)
	if !errors.Is(err, boom) {
		t.Fatalf("append error %v, want boom", err)
	}
	equal(t, "failed batch", failed, []int{3, 4})
	equal(t, "waiting after a failure", b.Len(), 0)
	appendAll(t, b, 5)
	if _, err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	equal(t, "batches: the failed one is not sent again", r.got(), [][]int{{1, 2}, {3, 4}, {5}})
}

// TestBatcherFlushSendsRemainder buffers more than the limit while a batch
// is in flight, then flushes, one batch failing: every item is sent once,
// never more than limit at a time.
func TestBatcherFlushSendsRemainder(t *testing.T) {
	boom := errors.New("boom")
	release := make(chan struct{})
	r := recorder{fail: func(call int) error {
		if call == 1 {
			<-release
		}
		if call == 2 {
			return boom
		}
		return nil
	}}
	b := job.NewBatcher(2, r.op)
	// Fill the buffer beyond the limit while the first batch is in flight.
	var wg sync.WaitGroup
	wg.Go(func() { appendAll(t, b, 1, 2) })
	waitFor(t, func() bool { return len(r.got()) == 1 })
	for i := 3; i <= 7; i++ {
		wg.Go(func() { _, _ = b.Append(context.Background(), i) })
	}
	waitFor(t, func() bool { return b.Len() == 5 })
	close(release)
	wg.Wait()
	// Appends sent what they could; now flush the rest.
	for b.Len() > 0 {
		failed, err := b.Flush(context.Background())
		if err != nil {
			if !errors.Is(err, boom) || len(failed) == 0 {
				t.Fatalf("flush = %v, %v", failed, err)
			}
		}
	}
	sent := map[int]int{}
	for i, batch := range r.got() {
		if len(batch) > 2 {
			t.Fatalf("batch %d has %d items, over the limit: %v", i, len(batch), batch)
		}
		for _, it := range batch {
			sent[it]++
		}
	}
	for i := 1; i <= 7; i++ {
		if sent[i] != 1 {
			t.Fatalf("item %d sent %d times: %v", i, sent[i], r.got())
		}
	}
}

// TestBatcherNoPartialBatchFromAppend: Appends that found the buffer full
// while a batch was in flight must not send what another flush left.
func TestBatcherNoPartialBatchFromAppend(t *testing.T) {
	release := make(chan struct{})
	r := recorder{fail: func(call int) error {
		if call == 1 {
			<-release
		}
		return nil
	}}
	b := job.NewBatcher(2, r.op)
	var wg sync.WaitGroup
	wg.Go(func() { appendAll(t, b, 1, 2) })
	waitFor(t, func() bool { return len(r.got()) == 1 })
	// 3, 4 and 5: the appends of 4 and 5 find the buffer full and wait.
	appendAll(t, b, 3)
	wg.Go(func() { appendAll(t, b, 4) })
	waitFor(t, func() bool { return b.Len() == 2 })
	wg.Go(func() { appendAll(t, b, 5) })
	waitFor(t, func() bool { return b.Len() == 3 })
	close(release)
	wg.Wait()
	equal(t, "batches", r.got(), [][]int{{1, 2}, {3, 4}})
	equal(t, "waiting", b.Len(), 1)
	if _, err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	equal(t, "batches after flush", r.got(), [][]int{{1, 2}, {3, 4}, {5}})
}

func TestBatcherConcurrentAppends(t *testing.T) {
	const (
		limit      = 7
		goroutines = 8
		each       = 500
	)
	var r recorder
	b := job.NewBatcher(limit, r.op)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if _, err := b.Append(context.Background(), g*each+i); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	before := len(r.got())
	if _, err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := map[int]int{}
	for i, batch := range r.got() {
		if len(batch) > limit || (i < before && len(batch) != limit) {
			t.Fatalf("batch %d of %d (%d from appends) has %d items", i, len(r.got()), before, len(batch))
		}
		for _, it := range batch {
			sent[it]++
		}
	}
	if len(sent) != goroutines*each {
		t.Fatalf("%d distinct items sent, want %d", len(sent), goroutines*each)
	}
	for it, n := range sent {
		if n != 1 {
			t.Fatalf("item %d sent %d times", it, n)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
