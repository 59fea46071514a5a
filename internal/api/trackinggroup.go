package api

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// appendGroup appends the batches of concurrent tracking calls together
// (group commit). The SDKs send 100 messages or fewer a call, and an
// append costs mostly per call, not per event (a transaction of a few
// statements: some 10 ms on DuckDB on 2 busy cores against well under
// 1 ms of decoding), so the calls that arrive while one append runs are
// appended by the next one, together. Each call is answered once its
// events are durable, as alone.
type appendGroup struct {
	in       *event.Ingester
	ingested func(*event.Result) // counts each append's result
	// waiting bounds the calls waiting for an append, and so the memory
	// their batches hold (500 KB bodies at most).
	waiting chan struct{}

	mu      sync.Mutex
	pending []*groupCall
	running bool // an append runs or a leader was named
}

// groupEventsMax bounds the events of one append, so a crowd of callers
// is served in several; groupCallsMax bounds the calls waiting.
const (
	groupEventsMax = 5000
	groupCallsMax  = 64
)

func newAppendGroup(in *event.Ingester, ingested func(*event.Result)) *appendGroup {
	return &appendGroup{in: in, ingested: ingested, waiting: make(chan struct{}, groupCallsMax)}
}

// groupCall is one call's batch waiting to be appended.
type groupCall struct {
	batch    *event.Batch
	rejected []*event.RecordError // the ingester's, at the call's own indexes
	err      error
	done     chan struct{} // closed once appended (or failed)
	lead     chan struct{} // closed when this call is to run the next append
}

// errGroupFailed is a call's error when the append it was part of ended
// in a panic.
var errGroupFailed = errors.New("the append of this call failed")

// ingest appends the call's batch, with those of other calls waiting at
// the same time, and returns the ingester's rejections of its events.
func (g *appendGroup) ingest(ctx context.Context, b *event.Batch) ([]*event.RecordError, error) {
	select {
	case g.waiting <- struct{}{}:
		defer func() { <-g.waiting }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c := &groupCall{batch: b, done: make(chan struct{}), lead: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if !lead {
		select {
		case <-c.done:
			return c.rejected, c.err
		case <-c.lead:
		}
	}
	// The leader's context may end (its client gone); the others' events
	// are appended all the same.
	g.run(context.WithoutCancel(ctx))
	<-c.done
	return c.rejected, c.err
}

// run appends the calls pending, from the first, up to groupEventsMax
// events, answers them and names the next leader.
func (g *appendGroup) run(ctx context.Context) {
	g.mu.Lock()
	n, events := 0, 0
	for n < len(g.pending) && (n == 0 || events+len(g.pending[n].batch.Events) <= groupEventsMax) {
		events += len(g.pending[n].batch.Events)
		n++
	}
	round := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()

	finished := false
	defer func() {
		for _, c := range round {
			if !finished {
				c.err = errGroupFailed
			}
			close(c.done)
		}
		g.handOff()
	}()
	// One batch of every call's events, indexed past the calls before.
	merged := &event.Batch{Events: make([]store.EventInsert, 0, events), Index: make([]int, 0, events)}
	offsets := make([]int, len(round))
	for i, c := range round {
		offsets[i] = merged.Records
		for j, e := range c.batch.Events {
			merged.Events = append(merged.Events, e)
			merged.Index = append(merged.Index, offsets[i]+c.batch.Index[j])
		}
		merged.Records += c.batch.Records
	}
	res, err := g.in.Ingest(ctx, merged)
	if err == nil {
		g.ingested(res)
		for _, r := range res.Rejected { // sorted by index
			i := sort.SearchInts(offsets, r.Index+1) - 1
			r.Index -= offsets[i]
			round[i].rejected = append(round[i].rejected, r)
		}
	}
	for _, c := range round {
		c.err = err
	}
	finished = true
}

// handOff names the first pending call the next leader, or ends the run.
func (g *appendGroup) handOff() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.running = false
		return
	}
	close(g.pending[0].lead)
}
