package job_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weftdata/weft/job"
)

// TestInterruptibleMarks: the runtime's Marker is told when interruptible
// work starts and ends, nested calls included, and even when the task
// fails; a task interrupted by its ctx returns ErrInterrupted with the
// cause, whatever it returned itself.
func TestInterruptibleMarks(t *testing.T) {
	var marks []bool
	ctx := job.WithMarker(context.Background(), func(on bool) { marks = append(marks, on) })
	boom := errors.New("boom")
	err := job.Interruptible(ctx, func(ctx context.Context) error {
		return job.Interruptible(ctx, func(context.Context) error { return boom })
	})
	if !errors.Is(err, boom) || fmt.Sprint(marks) != "[true true false false]" {
		t.Fatalf("err %v, marks %v", err, marks)
	}

	cause := errors.New("the runner stops")
	cctx, cancel := context.WithCancelCause(ctx)
	marks = nil
	err = job.Interruptible(cctx, func(ctx context.Context) error {
		cancel(cause)
		return nil // swallowed: still interrupted
	})
	if !errors.Is(err, job.ErrInterrupted) || !errors.Is(err, cause) || err.Error() != "interrupted: the runner stops" || fmt.Sprint(marks) != "[true false]" {
		t.Fatalf("err %v, marks %v", err, marks)
	}
	// A cause that says interrupted already is not said twice.
	cctx, cancel = context.WithCancelCause(context.Background())
	cancel(fmt.Errorf("%w: lease lost", job.ErrInterrupted))
	if err := job.Interruptible(cctx, func(context.Context) error { return nil }); err.Error() != "interrupted: lease lost" {
		t.Fatalf("err %v", err)
	}
	// Without a runtime (no Marker) the task just runs.
	if err := job.Interruptible(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestSleep: Sleep waits, ends early with its ctx, and marks the sleep
// interruptible only when asked.
func TestSleep(t *testing.T) {
	var marks []bool
	ctx := job.WithMarker(context.Background(), func(on bool) { marks = append(marks, on) })
	start := time.Now()
	if err := job.Sleep(ctx, 30*time.Millisecond, false); err != nil || time.Since(start) < 30*time.Millisecond || marks != nil {
		t.Fatalf("err %v after %v, marks %v", err, time.Since(start), marks)
	}
	if err := job.Sleep(ctx, time.Millisecond, true); err != nil || fmt.Sprint(marks) != "[true false]" {
		t.Fatalf("err %v, marks %v", err, marks)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := job.Sleep(short, time.Hour, false); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, job.ErrInterrupted) || time.Since(start) > 5*time.Second {
		t.Fatalf("non-interruptible: %v", err)
	}
	if err := job.Sleep(short, time.Hour, true); !errors.Is(err, job.ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("interruptible: %v", err)
	}
}
