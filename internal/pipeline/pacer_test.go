package pipeline

import (
	"testing"
	"time"
)

// load is an ingester's Busy as the pacer reads it: the test says how much
// of each tick ingestion spent in the store.
type load struct{ spent time.Duration }

func (l *load) busy() time.Duration { return l.spent }

func TestStitchPacer(t *testing.T) {
	const tick = time.Second
	t0 := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	type step struct {
		share float64 // of the tick just ended
		dirty bool
		want  bool
	}
	cases := []struct {
		name     string
		maxDelay time.Duration
		steps    []step
	}{
		{"a trickle is stitched at each tick", 10 * time.Second, []step{
			{0.01, true, true}, {0.2, true, true}, {0.49, true, true}, {0, false, false}}},
		{"a saturating load waits up to the delay, then stitches", 3 * time.Second, []step{
			{0.9, true, false}, {1.5, true, false}, {0.5, true, false}, {2, true, true},
			// the wait starts again after a pass
			{1, true, false}, {1, true, false}, {1, true, false}, {1, true, true}}},
		{"the load easing stitches at the next tick", time.Minute, []step{
			{1, true, false}, {1, true, false}, {0.1, true, true}, {1, true, false}}},
		{"no events, no pass and no wait carried over", 2 * time.Second, []step{
			{1, false, false}, {1, false, false}, {1, true, false}, {1, true, false}, {1, true, true}}},
		{"a negative delay never waits", -1, []step{
			{1, true, true}, {2, true, true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &load{}
			p := newStitchPacer(l.busy, c.maxDelay, t0)
			now := t0
			for i, s := range c.steps {
				now = now.Add(tick)
				l.spent += time.Duration(s.share * float64(tick))
				if got := p.due(now, s.dirty); got != s.want {
					t.Fatalf("tick %d (share %.2f, dirty %v): due %v, want %v", i+1, s.share, s.dirty, got, s.want)
				}
			}
		})
	}
}

func TestStitchPacerWithoutLoad(t *testing.T) {
	p := newStitchPacer(nil, time.Minute, time.Now())
	if !p.due(time.Now().Add(time.Second), true) {
		t.Fatal("without an ingester's load stitching must never wait")
	}
}
