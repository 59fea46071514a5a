package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/client"
)

// SegmentOpts describe a benchmark of the Segment tracking API.
type SegmentOpts struct {
	// URL of the server under test.
	URL string
	// APIKey reads the server's stats (a read or admin key; none on an open
	// server).
	APIKey string
	// WriteKey sends the messages. Default Source, which names the source
	// on an open server.
	WriteKey string
	// Source of the events, for the default WriteKey. Default "web".
	Source string
	// Messages to send. Default 1,000,000.
	Messages int
	// BatchSize is messages per POST /v1/batch. Default 100, what
	// analytics-node sends (flushAt).
	BatchSize int
	// Parallel is clients sending at once. Default 8.
	Parallel int
	// Seed of the messages; a new one sends messages the server has not
	// seen. Default 1.
	Seed uint64
}

// Segment sends batches shaped as @segment/analytics-node sends them to
// POST /v1/batch from several clients at once, and reports durable
// messages/s (each batch is answered once its events are stored) with the
// batch latencies. The events the server's stats gained are the Accepted
// count.
func Segment(ctx context.Context, opts SegmentOpts) (*IngestReport, error) {
	opts = opts.withDefaults()
	c := client.New(opts.URL, opts.APIKey)
	before, err := c.Stats(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan int)
	go func() {
		defer close(batches)
		for first := 0; first < opts.Messages; first += opts.BatchSize {
			select {
			case batches <- first:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.Parallel}}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(opts.WriteKey+":"))
	start, cpu := time.Now(), processCPU()
	for range opts.Parallel {
		wg.Go(func() {
			g := newSegmentGen(opts.Seed, opts.WriteKey, start)
			var body []byte
			for first := range batches {
				body = g.batch(body[:0], first, min(opts.BatchSize, opts.Messages-first))
				took, err := postBatch(ctx, hc, opts.URL+"/v1/batch", auth, body)
				if err != nil {
					cancel(err)
					return
				}
				mu.Lock()
				latencies = append(latencies, took)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	after, err := c.Stats(ctx)
	if err != nil {
		return nil, err
	}
	stored := int(after.Events - before.Events)
	r := &IngestReport{
		Unit:         "messages",
		Events:       opts.Messages,
		Accepted:     stored,
		Duplicates:   max(0, opts.Messages-stored),
		Elapsed:      elapsed,
		EventsPerSec: float64(opts.Messages) / elapsed.Seconds(),
		PeakRSSBytes: peakRSS(),
		CPU:          cpu,
	}
	r.setPercentiles(latencies)
	return r, nil
}

func (o SegmentOpts) withDefaults() SegmentOpts {
	if o.Messages <= 0 {
		o.Messages = 1_000_000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Source == "" {
		o.Source = "web"
	}
	if o.WriteKey == "" {
		o.WriteKey = o.Source
	}
	return o
}

// postBatch sends one batch as analytics-node does and returns how long
// the answer took; anything but 200 {"success": true} is an error.
func postBatch(ctx context.Context, hc *http.Client, url, auth string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "analytics-node-next/latest")
	req.Header.Set("Authorization", auth)
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(answer, []byte(`"success":true`)) {
		return 0, fmt.Errorf("POST /v1/batch: %d %s", resp.StatusCode, bytes.TrimSpace(answer))
	}
	return took, nil
}

// setPercentiles sets the batch latency percentiles.
func (r *IngestReport) setPercentiles(latencies []time.Duration) {
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		pct := func(p float64) time.Duration { return latencies[min(n-1, int(p*float64(n)))] }
		r.P50, r.P95, r.P99, r.Max = pct(.50), pct(.95), pct(.99), latencies[n-1]
	}
}
