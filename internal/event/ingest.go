package event

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/store"
)

// Ingester appends decoded batches to the log.
type Ingester struct {
	store    store.Store
	strict   bool
	suppress func(ctx context.Context, events []store.EventInsert) (*store.Drop, error)
	check    func(ctx context.Context, events []store.EventInsert) ([]*RecordError, error)

	mu    sync.RWMutex
	known map[string]bool // event type ids known to be in the catalog

	busy busyClock // time spent in Ingest
}

// IngesterOpts configure an Ingester.
type IngesterOpts struct {
	// StrictCatalog rejects records whose event type is not registered,
	// instead of registering it on first ingest.
	StrictCatalog bool
	// Suppress returns what selects the batch's staged events to drop
	// because they carry a suppressed identifier
	// (store.EventAppendManyParams.Drop), or nil when nothing is
	// suppressed; called once per batch with its events
	// (erasure.Suppressor.DropQuery). Nil drops nothing.
	Suppress func(ctx context.Context, events []store.EventInsert) (*store.Drop, error)
	// Check applies the tracking plan (trackplan.Checker.Check), once per
	// batch with its storable events: it records the violations and
	// returns the events refused, each with Index its position in events.
	// Nil checks nothing.
	Check func(ctx context.Context, events []store.EventInsert) ([]*RecordError, error)
}

// NewIngester returns an Ingester over s; opts may be nil.
func NewIngester(s store.Store, opts *IngesterOpts) *Ingester {
	in := &Ingester{store: s, known: map[string]bool{}}
	if opts != nil {
		in.strict, in.suppress, in.check = opts.StrictCatalog, opts.Suppress, opts.Check
	}
	return in
}

// Result is what happened to a batch.
type Result struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	// Suppressed counts the events dropped because they carry an
	// identifier of an erased person: not errors, and not stored.
	Suppressed int            `json:"suppressed,omitempty"`
	Rejected   []*RecordError `json:"rejected"`
}

// Ingest appends the batch's good events and returns once they are durable.
// Repeated ids within the batch and ids already in the log count as
// duplicates. An error means nothing of the batch was appended.
func (in *Ingester) Ingest(ctx context.Context, b *Batch) (*Result, error) {
	defer in.busy.enter(time.Now())()
	res := &Result{Rejected: b.Rejected}
	events, index := storable(b, res)
	if in.strict {
		var err error
		if events, index, err = in.checkCatalog(ctx, events, index, res); err != nil {
			return nil, err
		}
	}
	if in.check != nil && len(events) > 0 {
		var err error
		if events, err = in.applyCheck(ctx, events, index, res); err != nil {
			return nil, err
		}
	}
	events, dups := dedupe(events)
	res.Duplicates = dups
	if len(events) > 0 {
		params := &store.EventAppendManyParams{Events: events}
		if in.suppress != nil {
			var err error
			if params.Drop, err = in.suppress(ctx, events); err != nil {
				return nil, fmt.Errorf("read the suppression list: %w", err)
			}
		}
		out, err := in.store.EventAppendMany(ctx, params)
		if err != nil {
			return nil, err
		}
		res.Accepted, res.Suppressed = out.Inserted, out.Dropped
		res.Duplicates += len(events) - out.Inserted - out.Dropped
	}
	if res.Rejected == nil {
		res.Rejected = []*RecordError{}
	}
	sort.Slice(res.Rejected, func(i, j int) bool { return res.Rejected[i].Index < res.Rejected[j].Index })
	return res, nil
}

// Busy is how long Ingest calls have run since the Ingester was made,
// summed over the calls (two calls at once for a second count two): how
// hard ingestion is pressing on the store. Background stitching reads it
// to give way to a saturating load.
func (in *Ingester) Busy() time.Duration { return in.busy.read(time.Now()) }

// busyClock sums the time calls spend inside, the calls still running
// included up to now: a reading taken during a long call (a checkpoint
// in its commit) counts it as far as it has gone.
type busyClock struct {
	mu     sync.Mutex
	done   time.Duration // of the calls that returned
	starts int64         // sum of the running calls' start times (UnixNano)
	open   int64         // running calls
}

// enter starts counting a call begun at start; the function it returns
// ends it.
func (c *busyClock) enter(start time.Time) func() {
	c.mu.Lock()
	c.starts += start.UnixNano()
	c.open++
	c.mu.Unlock()
	return func() {
		end := time.Now()
		c.mu.Lock()
		c.starts -= start.UnixNano()
		c.open--
		c.done += end.Sub(start)
		c.mu.Unlock()
	}
}

func (c *busyClock) read(now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done + time.Duration(c.open*now.UnixNano()-c.starts)
}

// dedupe drops events whose id appeared earlier in the batch.
func dedupe(events []store.EventInsert) ([]store.EventInsert, int) {
	seen := make(map[string]struct{}, len(events))
	out := events[:0:0]
	for _, e := range events {
		if _, dup := seen[e.ID]; dup {
			continue
		}
		seen[e.ID] = struct{}{}
		out = append(out, e)
	}
	return out, len(events) - len(out)
}

// storable rejects the batch's events that a backend could not store, and
// returns the others with their request positions (b.Index, or the
// positions in b.Events when it has none). Records decoded from a request
// were checked already, but events reach the log by other paths too (the
// Metrics API, delivery logs, jobs), and one event the database refuses
// would fail its whole batch.
func storable(b *Batch, res *Result) ([]store.EventInsert, []int) {
	index := b.Index
	if len(index) != len(b.Events) {
		index = make([]int, len(b.Events))
		for i := range index {
			index[i] = i
		}
	}
	var kept []store.EventInsert
	var keptIndex []int
	for i := range b.Events {
		rerr := checkStorable(&b.Events[i])
		if rerr == nil {
			if kept != nil {
				kept, keptIndex = append(kept, b.Events[i]), append(keptIndex, index[i])
			}
			continue
		}
		if kept == nil { // the first refusal: copy the events before it
			kept, keptIndex = append([]store.EventInsert{}, b.Events[:i]...), append([]int{}, index[:i]...)
		}
		rerr.Index = index[i]
		res.Rejected = append(res.Rejected, rerr)
	}
	if kept == nil {
		return b.Events, index // the usual case: all storable, no copy
	}
	return kept, keptIndex
}

// checkStorable applies the rules of POST /v1/events that keep an event
// storable on both backends.
func checkStorable(e *store.EventInsert) *RecordError {
	if err := ValidateEventType(e.EventTypeKey); err != nil {
		return err
	}
	if e.ID == "" || len(e.ID) > IDMaxLen || strings.IndexByte(e.ID, 0) >= 0 || !utf8.ValidString(e.ID) {
		return &RecordError{Field: "id", Reason: fmt.Sprintf("must be 1 to %d bytes of UTF-8 without NUL characters", IDMaxLen)}
	}
	if err := storableJSON(e.Payload); err != nil {
		return &RecordError{Field: "payload", Reason: err.Error()}
	}
	return nil
}

// applyCheck rejects the events the tracking plan refuses and returns the
// others; index holds their request positions.
func (in *Ingester) applyCheck(ctx context.Context, events []store.EventInsert, index []int, res *Result) ([]store.EventInsert, error) {
	refused, err := in.check(ctx, events)
	if err != nil || len(refused) == 0 {
		return events, err
	}
	out := make(map[int]bool, len(refused))
	for _, r := range refused {
		out[r.Index] = true
		r.Index = index[r.Index]
		res.Rejected = append(res.Rejected, r)
	}
	kept := make([]store.EventInsert, 0, len(events)-len(refused))
	for i, e := range events {
		if !out[i] {
			kept = append(kept, e)
		}
	}
	return kept, nil
}

// checkCatalog rejects the events whose type is not in the catalog and
// returns the others with their request positions; index holds the
// positions of events.
func (in *Ingester) checkCatalog(ctx context.Context, events []store.EventInsert, index []int, res *Result) ([]store.EventInsert, []int, error) {
	if err := in.refreshIfUnknown(ctx, events); err != nil {
		return nil, nil, err
	}
	in.mu.RLock()
	defer in.mu.RUnlock()
	kept, keptIndex := events[:0:0], index[:0:0]
	for i, e := range events {
		if id := e.EventTypeKey.ID(); !in.known[id] {
			res.Rejected = append(res.Rejected, &RecordError{
				Index:  index[i],
				Field:  "type",
				Reason: fmt.Sprintf("unknown event type %q: the catalog is strict, register it first (POST /v1/event-types)", id),
			})
			continue
		}
		kept, keptIndex = append(kept, e), append(keptIndex, index[i])
	}
	return kept, keptIndex, nil
}

// refreshIfUnknown reloads the catalog when the batch has a type the cache
// does not know, since it may have been registered since.
func (in *Ingester) refreshIfUnknown(ctx context.Context, events []store.EventInsert) error {
	in.mu.RLock()
	missing := false
	for _, e := range events {
		if !in.known[e.EventTypeKey.ID()] {
			missing = true
			break
		}
	}
	in.mu.RUnlock()
	if !missing {
		return nil
	}
	types, err := in.store.EventTypeList(ctx)
	if err != nil {
		return fmt.Errorf("read catalog: %w", err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, t := range types {
		in.known[t.ID] = true
	}
	return nil
}
