package bench

import (
	"context"
	"fmt"
	"iter"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/demo"
)

// IngestOpts describe an ingest benchmark.
type IngestOpts struct {
	// URL of the server under test.
	URL    string
	APIKey string
	// Events to send. Default 1,000,000.
	Events int
	// BatchSize is events per request. Default 5,000.
	BatchSize int
	// Parallel is requests in flight. Default 2.
	Parallel int
	// Seed of the demo data; use a new one to send events the server has
	// not seen. Default 1.
	Seed uint64
	// Config, when set, is a weft.yaml applied (PUT /v1/config) before
	// the events are sent: a tracking plan, say (DemoTrackingPlan).
	Config []byte
	// StitchWait, when positive, is how long to wait after the last batch
	// for the server's background stitching to catch up with the log
	// (IngestReport.StitchLag); zero does not wait.
	StitchWait time.Duration
}

// IngestReport is what an ingest benchmark measured.
type IngestReport struct {
	// Unit is what was sent: "events" (the default) or "messages" (the
	// Segment protocol).
	Unit         string
	Events       int
	Accepted     int
	Duplicates   int
	Rejected     int
	Elapsed      time.Duration
	EventsPerSec float64
	// Batch latency percentiles.
	P50, P95, P99, Max time.Duration
	// PeakRSSBytes is this process's peak resident memory (client and, when
	// in process, server), 0 where unknown.
	PeakRSSBytes int64
	// CPU is this process's user and system time while it sent (client
	// and, when in process, server): steadier than the wall clock on a
	// machine that other work shares.
	CPU time.Duration
	// StitchLag is how long after the last batch was answered stitching
	// had every event (IngestOpts.StitchWait; to within stitchPoll): the
	// delay before profiles show the load. Zero when not waited for;
	// Unstitched is set when the wait ran out first.
	StitchLag  time.Duration
	Unstitched bool
	// StitchCPU is this process's CPU time while it waited for stitching
	// (the server's, when in process).
	StitchCPU time.Duration
}

func (r *IngestReport) String() string {
	unit := r.Unit
	if unit == "" {
		unit = "events"
	}
	out := fmt.Sprintf("%d %s in %s: %.0f %s/s durable (accepted %d, duplicates %d, rejected %d); batch latency p50 %s p95 %s p99 %s max %s; peak RSS %d MiB; CPU %s",
		r.Events, unit, r.Elapsed.Round(time.Millisecond), r.EventsPerSec, unit, r.Accepted, r.Duplicates, r.Rejected,
		r.P50.Round(time.Millisecond), r.P95.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond),
		r.PeakRSSBytes>>20, r.CPU.Round(10*time.Millisecond))
	switch {
	case r.Unstitched:
		out += fmt.Sprintf("; not all stitched %s after the last batch (CPU %s)", r.StitchLag.Round(time.Millisecond), r.StitchCPU.Round(10*time.Millisecond))
	case r.StitchLag > 0:
		out += fmt.Sprintf("; all stitched %s after the last batch (CPU %s)", r.StitchLag.Round(time.Millisecond), r.StitchCPU.Round(10*time.Millisecond))
	}
	return out
}

// IngestSummary is the median, minimum and maximum of several runs of
// one ingest benchmark (weft bench ingest --runs).
type IngestSummary struct {
	Unit string
	Runs int
	// EventsPerSec, P99 and CPU: each the median, min and max over the
	// runs, taken separately.
	EventsPerSec [3]float64
	P99, CPU     [3]time.Duration
	// StitchLag is the median, min and max of the runs' StitchLag when
	// every run waited for stitching and saw it catch up; zero otherwise.
	StitchLag [3]time.Duration
}

// SummarizeIngest sums up runs (at least one).
func SummarizeIngest(runs []*IngestReport) *IngestSummary {
	s := &IngestSummary{Unit: runs[0].Unit, Runs: len(runs)}
	rates := make([]float64, len(runs))
	p99s, cpus := make([]time.Duration, len(runs)), make([]time.Duration, len(runs))
	for i, r := range runs {
		rates[i], p99s[i], cpus[i] = r.EventsPerSec, r.P99, r.CPU
	}
	s.EventsPerSec, s.P99, s.CPU = spread(rates), spread(p99s), spread(cpus)
	lags := make([]time.Duration, 0, len(runs))
	for _, r := range runs {
		if r.StitchLag > 0 && !r.Unstitched {
			lags = append(lags, r.StitchLag)
		}
	}
	if len(lags) == len(runs) {
		s.StitchLag = spread(lags)
	}
	return s
}

// spread is the median, min and max of xs (the upper median of an even
// count).
func spread[T float64 | time.Duration](xs []T) [3]T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return [3]T{s[len(s)/2], s[0], s[len(s)-1]}
}

func (s *IngestSummary) String() string {
	unit := s.Unit
	if unit == "" {
		unit = "events"
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	out := fmt.Sprintf("median of %d runs: %.0f %s/s durable (min %.0f, max %.0f); batch latency p99 %s (min %s, max %s); CPU %s (min %s, max %s)",
		s.Runs, s.EventsPerSec[0], unit, s.EventsPerSec[1], s.EventsPerSec[2],
		ms(s.P99[0]), ms(s.P99[1]), ms(s.P99[2]),
		s.CPU[0].Round(10*time.Millisecond), s.CPU[1].Round(10*time.Millisecond), s.CPU[2].Round(10*time.Millisecond))
	if s.StitchLag[0] > 0 {
		out += fmt.Sprintf("; all stitched %s after the last batch (min %s, max %s)", ms(s.StitchLag[0]), ms(s.StitchLag[1]), ms(s.StitchLag[2]))
	}
	return out
}

// Ingest sends demo events to the server over HTTP, generating them on the
// fly so that memory stays bounded whatever the count.
func Ingest(ctx context.Context, opts IngestOpts) (*IngestReport, error) {
	if opts.Events <= 0 {
		opts.Events = 1_000_000
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	var latencies []time.Duration
	c := client.New(opts.URL, opts.APIKey)
	if opts.Config != nil {
		if _, err := c.ApplyConfig(ctx, opts.Config); err != nil {
			return nil, fmt.Errorf("apply the configuration: %w", err)
		}
	}
	cpu := processCPU()
	sum, err := c.IngestStream(ctx, DemoRecords(demo.Stream(demo.Options{Seed: opts.Seed}, opts.Events)), client.IngestOpts{
		BatchSize: opts.BatchSize,
		Parallel:  opts.Parallel,
		Progress:  func(p client.Progress) { latencies = append(latencies, p.LastBatch) },
	})
	if err != nil {
		return nil, err
	}
	r := &IngestReport{
		Events:       sum.Records,
		Accepted:     sum.Accepted,
		Duplicates:   sum.Duplicates,
		Rejected:     sum.Rejected,
		Elapsed:      sum.Elapsed,
		EventsPerSec: float64(sum.Records) / sum.Elapsed.Seconds(),
		PeakRSSBytes: peakRSS(),
		CPU:          processCPU() - cpu,
	}
	r.setPercentiles(latencies)
	if opts.StitchWait > 0 {
		cpu := processCPU()
		if r.StitchLag, r.Unstitched, err = waitStitched(ctx, c, opts.StitchWait); err != nil {
			return nil, err
		}
		r.StitchCPU = processCPU() - cpu
	}
	return r, nil
}

// stitchPoll is how often waitStitched asks: often enough for the figure,
// seldom enough that the counting (/v1/stats, about 0.1 s at 1M events)
// takes little from the stitching it waits for.
const stitchPoll = 250 * time.Millisecond

// waitStitched waits until the server has stitched its whole log, at most
// wait, and says how long that took and whether it ran out.
func waitStitched(ctx context.Context, c *client.Client, wait time.Duration) (time.Duration, bool, error) {
	start := time.Now()
	for {
		st, err := c.Stats(ctx)
		if err != nil {
			return 0, false, fmt.Errorf("wait for stitching: %w", err)
		}
		lag := time.Since(start)
		if st.StitchedSeq >= st.MaxSeq {
			return max(lag, time.Millisecond), false, nil
		}
		if lag >= wait {
			return lag, true, nil
		}
		select {
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-time.After(stitchPoll):
		}
	}
}

// DemoRecords turns demo events into records to send.
func DemoRecords(events iter.Seq[demo.Event]) iter.Seq2[client.Record, error] {
	return func(yield func(client.Record, error) bool) {
		i := 0
		for e := range events {
			i++
			if !yield(client.Record{Data: e.AppendJSON(nil), Origin: client.Origin{File: "demo", Line: i}}, nil) {
				return
			}
		}
	}
}

// peakRSS reads VmHWM from /proc/self/status (Linux).
func peakRSS() int64 { return procStatus("VmHWM:") }

// procStatus is a size in bytes of /proc/self/status, the line with this
// prefix (Linux; 0 elsewhere).
func procStatus(prefix string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
