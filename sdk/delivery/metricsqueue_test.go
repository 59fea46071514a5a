package delivery

import (
	"errors"
	"strings"
	"testing"
	"time"

	ev "github.com/promotedai/schema/generated/go/proto/event"
)

// gatedMetrics returns a Metrics API whose calls wait for the returned
// gate, and a function that waits until the worker is inside a call.
func gatedMetrics(t *testing.T) (*recordingMetrics, chan struct{}, func()) {
	m := &recordingMetrics{started: make(chan struct{}, 100), gate: make(chan struct{})}
	waitStarted := func() {
		t.Helper()
		select {
		case <-m.started:
		case <-time.After(5 * time.Second):
			t.Fatal("metrics worker never called the Metrics API")
		}
	}
	return m, m.gate, waitStarted
}

func logRequestWithPlatform(id uint64) *ev.LogRequest {
	return &ev.LogRequest{PlatformId: id}
}

func TestMetricsQueueCloseFlushes(t *testing.T) {
	t.Parallel()
	m, gate, waitStarted := gatedMetrics(t)
	q := newMetricsQueue(m, 100, testLogger(t))
	const n = 50
	for i := range n {
		q.enqueue(logRequestWithPlatform(uint64(i)))
	}
	waitStarted() // one in flight, n-1 queued
	closed := make(chan error)
	go func() { closed <- q.close() }()
	close(gate)
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	got := m.received()
	if len(got) != n {
		t.Fatalf("sent %d LogRequests, want all %d", len(got), n)
	}
	for i, lr := range got {
		if lr.PlatformId != uint64(i) {
			t.Fatalf("LogRequest %d has platform %d: not sent in order", i, lr.PlatformId)
		}
	}
}

func TestMetricsQueueFullDropsWithoutBlocking(t *testing.T) {
	t.Parallel()
	m, gate, waitStarted := gatedMetrics(t)
	tc := newTestClient(t, testClientOpts{metrics: m, queueSize: 2})
	deliver := func() {
		if _, err := tc.Deliver(&DeliveryRequest{Request: testRequest(2), OnlyLog: true}); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
	deliver()
	waitStarted() // the worker holds the first; the queue is empty again
	start := time.Now()
	for range 9 {
		deliver()
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("9 Deliver calls took %v with a stuck Metrics API", elapsed)
	}
	if got := tc.DroppedLogRequests(); got != 7 {
		t.Errorf("dropped %d LogRequests, want 7 (2 queued, 1 in flight)", got)
	}
	close(gate)
	if got := len(tc.flushedLogs(t)); got != 3 {
		t.Errorf("sent %d LogRequests, want 3", got)
	}
}

func TestMetricsQueueCloseReportsFailures(t *testing.T) {
	t.Parallel()
	m, gate, waitStarted := gatedMetrics(t)
	m.err = errors.New("metrics down")
	q := newMetricsQueue(m, 10, testLogger(t))
	for i := range 4 {
		q.enqueue(logRequestWithPlatform(uint64(i)))
	}
	waitStarted()
	closed := make(chan error)
	go func() { closed <- q.close() }()
	<-q.stop // close has begun: the 3 still queued belong to the flush
	close(gate)
	err := <-closed
	want := "flush metrics queue: 3 of 3 log requests failed, last: metrics down"
	if err == nil || err.Error() != want {
		t.Fatalf("close error = %v, want %q", err, want)
	}
	if again := q.close(); again == nil || again.Error() != want {
		t.Errorf("second close = %v, want the same error", again)
	}
}

func TestDeliverAfterCloseLogsSynchronously(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, testClientOpts{})
	if err := tc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	resp, err := tc.Deliver(&DeliveryRequest{Request: testRequest(2), OnlyLog: true})
	if err != nil || resp.ExecutionServer.String() != "SDK" {
		t.Fatalf("Deliver after Close = %v, %v", resp, err)
	}
	// No Close and no waiting: the LogRequest was sent before Deliver returned.
	if got := len(tc.metrics.received()); got != 1 {
		t.Errorf("sent %d LogRequests after Close, want 1", got)
	}
}

func TestDeliverWithoutMetricsAPI(t *testing.T) {
	t.Parallel()
	logs := &logCapture{}
	client := &PromotedDeliveryClient{logger: logs.logger()}
	if _, err := client.Deliver(&DeliveryRequest{Request: testRequest(1), OnlyLog: true}); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if want := "metrics API is not configured"; !strings.Contains(logs.text(), want) {
		t.Errorf("log %q does not mention %q", logs.text(), want)
	}
}
