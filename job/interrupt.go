package job

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInterrupted is what Interruptible and an interruptible Sleep return
// when the run was interrupted during them (the runner stopping, the
// run's lease lost to another worker, a terminate or a stall). The run is
// resumed later from the Status the Perform was called with, so a
// Perform should return the error as it is.
var ErrInterrupted = errors.New("interrupted")

// Marker is told when a Perform enters (true) and leaves (false)
// interruptible work; the runtime installs one with WithMarker. Calls
// nest: work is interruptible while more enters than leaves were told.
type Marker func(interruptible bool)

type markerKey struct{}

// WithMarker returns ctx carrying m, for the runtime: the ctx it passes to
// Perform.
func WithMarker(ctx context.Context, m Marker) context.Context {
	return context.WithValue(ctx, markerKey{}, m)
}

// Interruptible runs task as interruptible work, as OCP's
// performInterruptibleTask does: while it runs, the time does not count
// toward the perform deadline (a long interruptible wait is allowed), and
// an interruption cancels the ctx task gets. If ctx ended while task ran,
// Interruptible returns an error matching ErrInterrupted and its cause,
// whatever task returned, and the runtime discards what the Perform
// returns: the run resumes with the Status that Perform was called with.
// Side effects of task must therefore be idempotent.
func Interruptible(ctx context.Context, task func(ctx context.Context) error) error {
	if m, ok := ctx.Value(markerKey{}).(Marker); ok {
		m(true)
		defer m(false)
	}
	err := task(ctx)
	if ctx.Err() != nil {
		return interrupted(ctx)
	}
	return err
}

// Sleep waits for d, or until ctx ends (then returning its error). With
// interruptible, it sleeps as Interruptible work, as OCP's
// sleep(ms, {interruptible: true}) does: a long sleep is then allowed, and
// an interruption during it resumes the run from the Perform's Status.
// Without, the sleep counts toward the perform deadline.
func Sleep(ctx context.Context, d time.Duration, interruptible bool) error {
	sleep := func(ctx context.Context) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
			return nil
		}
	}
	if interruptible {
		return Interruptible(ctx, sleep)
	}
	return sleep(ctx)
}

func interrupted(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrInterrupted) {
		return cause
	}
	return fmt.Errorf("%w: %w", ErrInterrupted, cause)
}
