package console

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// The overview's figures take seconds on a large store (on 10M events:
// Stats about 1 s and the events per day about 0.4 s on a quiet machine,
// several times that under load), so they are counted in the background
// and kept: a page view reads the cheap StatsVersion and shows the last
// count, "as of" when it was made. A new count starts when the version
// moved, if the last count took less than figuresWait (a small store is
// recounted on every change) or is older than figuresMinAgeFactor times
// what it took (10M events: at most every few tens of seconds); and when
// the last count is older than figuresMaxAge (erasure and retention
// delete without moving the version).
const (
	figuresMinAgeFactor = 10
	figuresMinAgeMax    = time.Minute
	figuresMaxAge       = 10 * time.Minute
	// figuresWait is how long a page view waits for a count under way
	// before it shows the last one (or says it is counting).
	figuresWait = 150 * time.Millisecond
	// figuresTimeout bounds a count.
	figuresTimeout = 5 * time.Minute
)

// snapshot is one count of the store's figures. It is never changed once
// made: page views read it while the next count is under way.
type snapshot struct {
	version store.StatsVersion
	stats   *store.Stats
	// days counts events per UTC day and source; types per event type.
	days  map[string]map[string]int64
	types map[store.EventTypeKey]int64
	asOf  time.Time
	took  time.Duration
}

// figures keeps the last snapshot and makes the next.
type figures struct {
	store store.Store
	now   func() time.Time
	log   *slog.Logger

	mu   sync.Mutex
	last *snapshot
	err  error // of the last count, nil when it succeeded
	// counting is closed when the count under way ends; nil when none is.
	counting chan struct{}
}

func newFigures(st store.Store, now func() time.Time, log *slog.Logger) *figures {
	return &figures{store: st, now: now, log: log}
}

// get returns the last snapshot, starting a count first when it is stale
// and waiting for it at most wait. counting reports a count under way;
// err is the last count's error.
func (f *figures) get(ctx context.Context, wait time.Duration) (s *snapshot, counting bool, err error) {
	v, err := f.store.StatsVersion(ctx)
	if err != nil {
		return nil, false, err
	}
	f.mu.Lock()
	if f.counting == nil && f.stale(v) {
		f.counting = make(chan struct{})
		go f.count(f.last, f.counting)
	}
	done := f.counting
	f.mu.Unlock()
	if done != nil {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-done:
		case <-timer.C:
		case <-ctx.Done():
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, f.counting != nil, f.err
}

// stale reports whether the last snapshot should be counted again.
func (f *figures) stale(v store.StatsVersion) bool {
	if f.last == nil || f.err != nil {
		return true
	}
	age := f.now().Sub(f.last.asOf)
	// A count a page view can wait for is made on every change.
	minAge := time.Duration(0)
	if f.last.took > figuresWait {
		minAge = min(figuresMinAgeFactor*f.last.took, figuresMinAgeMax)
	}
	return age >= figuresMaxAge || (v != f.last.version && age >= minAge)
}

// count makes a snapshot, then closes done.
func (f *figures) count(prev *snapshot, done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), figuresTimeout)
	defer cancel()
	s, err := f.snapshot(ctx, prev)
	if err != nil {
		f.log.Error("console: the overview's figures could not be counted", "error", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s != nil {
		f.last = s
	}
	f.err = err
	f.counting = nil
	close(done)
}

// snapshot counts the figures. The events per day and type are counted
// only for the events that arrived since prev, unless events were deleted
// since (the totals do not add up): then the whole log is counted again.
func (f *figures) snapshot(ctx context.Context, prev *snapshot) (*snapshot, error) {
	start := f.now()
	v, err := f.store.StatsVersion(ctx)
	if err != nil {
		return nil, err
	}
	st, err := f.store.Stats(ctx)
	if err != nil {
		return nil, err
	}
	s := &snapshot{version: v, stats: st, days: map[string]map[string]int64{}, types: map[store.EventTypeKey]int64{}}
	after := int64(0)
	if prev != nil && st.MaxSeq >= prev.stats.MaxSeq {
		s.add(prev.days, prev.types)
		after = prev.stats.MaxSeq
	}
	counts, err := f.store.EventCounts(ctx, &store.EventCountsParams{AfterSeq: after, UptoSeq: st.MaxSeq})
	if err != nil {
		return nil, err
	}
	s.addCounts(counts)
	if s.total() != st.Events && after > 0 {
		return f.snapshot(ctx, nil)
	}
	s.asOf = f.now()
	s.took = s.asOf.Sub(start)
	return s, nil
}

// add adds counts of another snapshot, copying its maps.
func (s *snapshot) add(days map[string]map[string]int64, types map[store.EventTypeKey]int64) {
	for d, bySource := range days {
		s.days[d] = maps.Clone(bySource)
	}
	maps.Copy(s.types, types)
}

func (s *snapshot) addCounts(c *store.EventCounts) {
	for _, d := range c.Days {
		if s.days[d.Day] == nil {
			s.days[d.Day] = map[string]int64{}
		}
		s.days[d.Day][d.SourceID] += d.Events
	}
	for _, t := range c.Types {
		s.types[t.EventTypeKey] += t.Events
	}
}

func (s *snapshot) total() int64 {
	var n int64
	for _, v := range s.types {
		n += v
	}
	return n
}
