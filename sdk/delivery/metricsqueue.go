package delivery

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	ev "github.com/promotedai/schema/generated/go/proto/event"
)

// metricsQueue hands LogRequests to one background goroutine through a
// bounded buffer, so Deliver never waits for the Metrics API and a slow
// Metrics API cannot pile up goroutines (the real client starts one per
// request). When the buffer is full the LogRequest is dropped and counted.
type metricsQueue struct {
	api     MetricsAPI
	logger  *slog.Logger
	items   chan *ev.LogRequest
	stop    chan struct{}
	done    chan struct{}
	dropped atomic.Int64

	mu       sync.Mutex // orders enqueue against close
	closed   bool
	flushErr error
}

func newMetricsQueue(api MetricsAPI, size int, logger *slog.Logger) *metricsQueue {
	q := &metricsQueue{
		api:    api,
		logger: logger,
		items:  make(chan *ev.LogRequest, size),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go q.run()
	return q
}

// enqueue never blocks on the Metrics API while the queue is open. After
// close there is no worker left, so the LogRequest is sent synchronously.
func (q *metricsQueue) enqueue(lr *ev.LogRequest) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		q.send(lr)
		return
	}
	defer q.mu.Unlock()
	select {
	case q.items <- lr:
	default:
		n := q.dropped.Add(1)
		q.logger.Warn("metrics queue full, dropping log request",
			"queue_size", cap(q.items), "dropped_total", n)
	}
}

// run sends queued LogRequests until close; then drain takes over, so
// that what was queued at close is what Close reports on.
func (q *metricsQueue) run() {
	defer close(q.done)
	for {
		// A select with both cases ready picks at random; checking stop
		// first hands the rest of the queue to drain right away.
		select {
		case <-q.stop:
			q.flushErr = q.drain()
			return
		default:
		}
		select {
		case lr := <-q.items:
			q.send(lr)
		case <-q.stop:
		}
	}
}

// drain sends what is still queued; each send is bounded by the Metrics
// API's own timeout.
func (q *metricsQueue) drain() error {
	var sent, failed int
	var last error
	for {
		select {
		case lr := <-q.items:
			sent++
			if err := q.send(lr); err != nil {
				failed, last = failed+1, err
			}
		default:
			if failed > 0 {
				return fmt.Errorf("flush metrics queue: %d of %d log requests failed, last: %w", failed, sent, last)
			}
			return nil
		}
	}
}

func (q *metricsQueue) send(lr *ev.LogRequest) error {
	err := q.api.RunMetricsLogging(lr)
	if err != nil {
		q.logger.Warn("metrics logging failed", "error", err)
	}
	return err
}

// close stops accepting, flushes the queue and waits for the worker. It
// returns the flush error; later calls return it again.
func (q *metricsQueue) close() error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.stop)
	}
	q.mu.Unlock()
	<-q.done
	return q.flushErr
}
