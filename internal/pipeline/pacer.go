package pipeline

import "time"

// StitchMaxDelayDefault is the longest background stitching gives way to
// a saturating ingest load.
const StitchMaxDelayDefault = 10 * time.Second

// saturatedShare is the share of a tick that ingestion must have spent in
// the store (summed over concurrent requests) for stitching to give way:
// a steady trickle of events is far below it, a bulk load far above.
const saturatedShare = 0.5

// stitchPacer decides, at each tick of the background loop, whether the
// events that arrived are stitched now or a little later. Stitching and
// ingestion share the cores and the store's single writer: while clients
// keep ingestion saturated, a pass taken from under them slows every
// batch they wait for, and a later, larger pass stitches the same events
// for no more work. So stitching waits while ingestion is saturated, but
// never longer than maxDelay after the first tick that found events
// waiting, and once ingestion eases it runs at the next tick.
type stitchPacer struct {
	busy     func() time.Duration // the ingester's Busy; nil never waits
	maxDelay time.Duration        // negative: never waits

	lastTick time.Time
	lastBusy time.Duration
	waiting  time.Time // first tick that put off waiting events; zero: none
}

func newStitchPacer(busy func() time.Duration, maxDelay time.Duration, now time.Time) *stitchPacer {
	p := &stitchPacer{busy: busy, maxDelay: maxDelay, lastTick: now}
	if busy != nil {
		p.lastBusy = busy()
	}
	return p
}

// due reports whether waiting events (dirty) are stitched at this tick.
func (p *stitchPacer) due(now time.Time, dirty bool) bool {
	saturated := p.saturated(now)
	if !dirty {
		p.waiting = time.Time{}
		return false
	}
	if !saturated || p.maxDelay < 0 {
		p.waiting = time.Time{}
		return true
	}
	if p.waiting.IsZero() {
		p.waiting = now
	}
	if now.Sub(p.waiting) >= p.maxDelay {
		p.waiting = time.Time{}
		return true
	}
	return false
}

// givingWay reports whether waiting events are being put off.
func (p *stitchPacer) givingWay() bool { return !p.waiting.IsZero() }

// saturated reports whether ingestion spent at least saturatedShare of the
// time since the last tick in the store, and starts the next measure.
func (p *stitchPacer) saturated(now time.Time) bool {
	if p.busy == nil {
		return false
	}
	b := p.busy()
	spent, elapsed := b-p.lastBusy, now.Sub(p.lastTick)
	p.lastBusy, p.lastTick = b, now
	return elapsed > 0 && float64(spent) >= saturatedShare*float64(elapsed)
}
