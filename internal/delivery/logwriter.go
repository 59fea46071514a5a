package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	ev "github.com/promotedai/schema/generated/go/proto/event"

	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// Defaults of the background delivery log writer.
const (
	LogQueueDefault = 10000
	logBatchMax     = 500
	logFlushEvery   = 200 * time.Millisecond
	// logFlushTimeout bounds the last flush at shutdown.
	logFlushTimeout = 10 * time.Second
)

// logWriter appends the delivery logs of API deliveries in batches, so
// that a delivery never waits on the database. When the queue is full the
// log is dropped and counted: serving matters more than the record of it.
type logWriter struct {
	in *event.Ingester
	// queue holds LogRequests, turned into events by the writer so that
	// the request path does not pay for encoding them.
	queue   chan *ev.LogRequest
	convert func(*ev.LogRequest) []store.EventInsert
	dropped atomic.Int64
	// written counts; the API's own delivery logs do not wake stitching:
	// at hundreds of deliveries a second that would run it, and the
	// attributes of every user it touches, without pause. The periodic
	// stitching pass takes them.
	written atomic.Int64
	log     *slog.Logger
}

func (w *logWriter) enqueue(lr *ev.LogRequest) {
	select {
	case w.queue <- lr:
	default:
		if n := w.dropped.Add(1); n == 1 || n%1000 == 0 {
			w.log.Warn("delivery log queue full: delivery logs dropped", "dropped_total", n, "queue", cap(w.queue))
		}
	}
}

// run writes batches until ctx ends, then writes what is queued.
func (w *logWriter) run(ctx context.Context) {
	tick := time.NewTicker(logFlushEvery)
	defer tick.Stop()
	var batch []store.EventInsert
	for {
		select {
		case lr := <-w.queue:
			if batch = append(batch, w.convert(lr)...); len(batch) >= logBatchMax {
				batch = w.write(ctx, batch)
			}
		case <-tick.C:
			batch = w.write(ctx, batch)
		case <-ctx.Done():
			w.drain(batch)
			return
		}
	}
}

func (w *logWriter) drain(batch []store.EventInsert) {
	ctx, cancel := context.WithTimeout(context.Background(), logFlushTimeout)
	defer cancel()
	for {
		select {
		case lr := <-w.queue:
			if batch = append(batch, w.convert(lr)...); len(batch) >= logBatchMax {
				batch = w.write(ctx, batch)
			}
		default:
			w.write(ctx, batch)
			return
		}
	}
}

// write appends a batch and returns it emptied; a failed batch is logged
// and dropped (the delivery was served; its record is best effort).
func (w *logWriter) write(ctx context.Context, batch []store.EventInsert) []store.EventInsert {
	if len(batch) == 0 {
		return batch
	}
	res, err := w.in.Ingest(ctx, &event.Batch{Events: batch, Records: len(batch)})
	if err != nil {
		w.dropped.Add(int64(len(batch)))
		w.log.Error("write delivery logs", "events", len(batch), "error", err)
		return batch[:0]
	}
	if len(res.Rejected) > 0 {
		w.log.Warn("delivery logs refused", "events", len(res.Rejected), "first", fmt.Sprint(res.Rejected[0]))
	}
	w.written.Add(int64(res.Accepted))
	return batch[:0]
}
