package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sort"
	"sync"
	"time"
)

// Record is one NDJSON line to send and where it came from.
type Record struct {
	Data   []byte
	Origin Origin
}

// Origin locates a record in its input, for error messages: a line of an
// NDJSON file, or an element (0-based) of a JSON array file.
type Origin struct {
	File    string
	Line    int
	Element int
}

func (o Origin) String() string {
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return fmt.Sprintf("%s[%d]", o.File, o.Element)
}

// IngestOpts tune IngestStream.
type IngestOpts struct {
	// BatchSize is records per request. Default 5000.
	BatchSize int
	// Parallel is requests in flight. Default 2.
	Parallel int
	// Retries is how often a failed request is tried again. Default 5.
	Retries int
	// KeepRejections is how many rejections the summary keeps. Default 10.
	KeepRejections int
	// Progress, when set, is called after each batch.
	Progress func(Progress)
}

// Progress is the running total of an ingest.
type Progress struct {
	Records, Accepted, Duplicates, Rejected int
	Elapsed                                 time.Duration
	// LastBatch is how long the latest batch's request took.
	LastBatch time.Duration
}

// OriginRejection is a rejection located in the input.
type OriginRejection struct {
	Origin Origin
	Rejection
	seq int
}

// IngestSummary is the outcome of IngestStream.
type IngestSummary struct {
	Progress
	// FirstRejections are the first rejections in input order.
	FirstRejections []OriginRejection
}

type batch struct {
	body    []byte
	origins []Origin
	first   int // sequence number of the batch's first record
}

// IngestStream sends records in batches and waits for every answer. It
// stops at the first batch that fails for good (after retries, or at once
// for a 4xx answer other than 429).
func (c *Client) IngestStream(ctx context.Context, records iter.Seq2[Record, error], opts IngestOpts) (*IngestSummary, error) {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	batches := make(chan batch, opts.Parallel)
	var (
		mu      sync.Mutex
		sum     IngestSummary
		sendErr error
		wg      sync.WaitGroup
	)
	for range opts.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				sent := time.Now()
				res, err := c.sendBatch(ctx, b.body, opts.Retries)
				mu.Lock()
				sum.LastBatch = time.Since(sent)
				if err != nil {
					if sendErr == nil {
						sendErr = fmt.Errorf("batch starting at %s: %w", b.origins[0], err)
					}
					mu.Unlock()
					cancel()
					continue
				}
				sum.add(b, res, opts.KeepRejections)
				sum.Elapsed = time.Since(start)
				if opts.Progress != nil {
					opts.Progress(sum.Progress)
				}
				mu.Unlock()
			}
		}()
	}
	readErr := produce(ctx, records, opts.BatchSize, batches)
	close(batches)
	wg.Wait()
	sum.Elapsed = time.Since(start)
	if sendErr != nil {
		return &sum, sendErr
	}
	if readErr != nil {
		return &sum, readErr
	}
	return &sum, ctx.Err()
}

func (o IngestOpts) withDefaults() IngestOpts {
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.Retries <= 0 {
		o.Retries = 5
	}
	if o.KeepRejections <= 0 {
		o.KeepRejections = 10
	}
	return o
}

// produce cuts the records into NDJSON batches.
func produce(ctx context.Context, records iter.Seq2[Record, error], size int, out chan<- batch) error {
	var b batch
	seq := 0
	flush := func() bool {
		if len(b.origins) == 0 {
			return true
		}
		// The next batch is about as large: sized up front, its body is
		// not copied again and again as it grows.
		hint := len(b.body) + len(b.body)/8
		select {
		case out <- b:
		case <-ctx.Done():
			return false
		}
		b = batch{first: seq, body: make([]byte, 0, hint), origins: make([]Origin, 0, size)}
		return true
	}
	for rec, err := range records {
		if err != nil {
			return err
		}
		b.body = append(b.body, rec.Data...)
		b.body = append(b.body, '\n')
		b.origins = append(b.origins, rec.Origin)
		seq++
		if len(b.origins) == size && !flush() {
			return nil
		}
	}
	flush()
	return nil
}

func (s *IngestSummary) add(b batch, res *IngestResult, keep int) {
	s.Records += len(b.origins)
	s.Accepted += res.Accepted
	s.Duplicates += res.Duplicates
	s.Rejected += len(res.Rejected)
	for _, r := range res.Rejected {
		if r.Index < 0 || r.Index >= len(b.origins) {
			continue
		}
		s.FirstRejections = append(s.FirstRejections, OriginRejection{Origin: b.origins[r.Index], Rejection: r, seq: b.first + r.Index})
	}
	sort.Slice(s.FirstRejections, func(i, j int) bool { return s.FirstRejections[i].seq < s.FirstRejections[j].seq })
	if len(s.FirstRejections) > keep {
		s.FirstRejections = s.FirstRejections[:keep]
	}
}

// sendBatch posts a batch, retrying what may be temporary.
func (c *Client) sendBatch(ctx context.Context, body []byte, retries int) (*IngestResult, error) {
	wait := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		res, err := c.IngestBody(ctx, body, "application/x-ndjson", false)
		if err == nil {
			return res, nil
		}
		var apiErr *APIError
		if (errors.As(err, &apiErr) && !apiErr.Temporary()) || attempt == retries || ctx.Err() != nil {
			return nil, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait = min(2*wait, 5*time.Second)
	}
}
