package pipeline

import (
	"context"
	"time"

	"github.com/weftdata/weft/internal/segment"
)

// SegmentFieldsIntervalDefault is how often the copy of the events'
// payload fields that segment conditions read is brought up to the log's
// last event (segment.Engine.KeepFields): a preview copies its type's
// events since then itself, before it counts, so the shorter the wait the
// less it copies; one that finds nothing new reads two small tables.
const SegmentFieldsIntervalDefault = time.Minute

// keepSegmentFields keeps the copy of the payload fields up to date until
// ctx ends, first at start: the first time over a large log it copies
// every event, in the background, so that the console builder's first
// count of a new condition need not parse the payloads.
func (p *Pipeline) keepSegmentFields(ctx context.Context) {
	if p.opts.SegmentFieldsInterval < 0 {
		return
	}
	eng := segment.New(p.db, nil, nil, nil)
	tick := time.NewTicker(p.opts.SegmentFieldsInterval)
	defer tick.Stop()
	for {
		start := time.Now()
		if err := eng.KeepFields(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("segments: keep the payload fields", "error", err)
		} else if d := time.Since(start); d > 5*time.Second {
			p.log.Info("segments: payload fields copied", "ms", d.Milliseconds())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
