package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store"
)

// SegmentsOpts describe a segments benchmark.
type SegmentsOpts struct {
	// DB is the store: empty, or holding exactly Events events of an
	// earlier load with the same options (stitched or not, attributes
	// calculated or not).
	DB *store.DB
	// Events and Customers size the log. Defaults 10,000,000 and 1,000,000.
	Events    int
	Customers int
	// Changed is how many entities change before the incremental run.
	// Default 10,000; -1 skips it.
	Changed int
	// Seed of the demo data. Default 1.
	Seed     uint64
	Progress func(string)
}

// SegmentsReport is what a segments benchmark measured.
type SegmentsReport struct {
	Events         int
	Entities       int64
	LoadTime       time.Duration // 0 when the store was loaded already
	StitchTime     time.Duration // 0 when it was stitched already
	AttributesTime time.Duration // 0 when the attributes were calculated already
	// FieldsTime is the copy of the payload fields that weft serve keeps
	// in the background (segment.Engine.KeepFields), made before the runs
	// as a running server has it; 0 where the backend keeps none.
	FieldsTime time.Duration

	Full         time.Duration
	FullCPU      time.Duration // the process's CPU time (user+sys) during the run
	FullSegments []segment.SegmentResult
	// FullPhasesMS are the full run's parts that are no one segment's
	// (the write of all of them).
	FullPhasesMS map[string]float64

	Changed             int
	Incremental         time.Duration
	IncrementalCPU      time.Duration
	IncrementalSegments []segment.SegmentResult
	IncrementalPhasesMS map[string]float64

	Preview      time.Duration // the median of 5
	PreviewCount int64

	PeakRSSBytes int64
}

func (r *SegmentsReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d events, %d live entities, %d segments\n", r.Events, r.Entities, len(r.FullSegments))
	for _, x := range []struct {
		what string
		d    time.Duration
	}{{"loaded", r.LoadTime}, {"stitched", r.StitchTime}, {"attributes calculated", r.AttributesTime},
		{"payload fields copied, as weft serve keeps them,", r.FieldsTime}} {
		if x.d > 0 {
			fmt.Fprintf(&b, "%s in %s\n", x.what, x.d.Round(time.Millisecond))
		}
	}
	fmt.Fprintf(&b, "full computation: %s (process CPU %s)\n", r.Full.Round(time.Millisecond), r.FullCPU.Round(time.Millisecond))
	for _, s := range r.FullSegments {
		fmt.Fprintf(&b, "  %-16s %9d members %8.0f ms  %s; %s\n", s.ID, s.Size, s.DurationMS, s.Status, phases(s.PhasesMS))
	}
	fmt.Fprintf(&b, "  shared by all segments: %s\n", phases(r.FullPhasesMS))
	if r.IncrementalSegments != nil {
		var cand int64
		for _, s := range r.IncrementalSegments {
			cand = max(cand, s.Candidates)
		}
		fmt.Fprintf(&b, "incremental after %d changed entities: %s (process CPU %s; up to %d candidates a segment)\n", r.Changed,
			r.Incremental.Round(time.Millisecond), r.IncrementalCPU.Round(time.Millisecond), cand)
		for _, s := range r.IncrementalSegments {
			fmt.Fprintf(&b, "  %-16s %6d entered %6d exited %8.0f ms  %s; %s\n", s.ID, s.Entered, s.Exited, s.DurationMS, s.Status, phases(s.PhasesMS))
		}
		fmt.Fprintf(&b, "  shared by all segments: %s\n", phases(r.IncrementalPhasesMS))
	}
	fmt.Fprintf(&b, "preview of a 3-condition tree: %s (%d members, median of 5)\n", r.Preview.Round(time.Millisecond), r.PreviewCount)
	fmt.Fprintf(&b, "peak RSS %d MiB", r.PeakRSSBytes>>20)
	return b.String()
}

// benchSegments are 10 segments of mixed conditions over the demo
// attributes and events; %[1]s is the last day of the data, %[2]d the
// days from it to now plus 30.
const benchSegments = `
segments:
  - {id: buyers, condition: {attribute: orders, op: ">=", value: 1}}
  - {id: big_spenders, condition: {attribute: total_spend, op: ">=", value: 200}}
  - {id: recent_buyers, condition: {event: shop/purchase, last: %[2]dd, count: {op: ">=", value: 1}}}
  - {id: eur_spenders, condition: {event: shop/purchase, between: ["2000-01-01", "%[1]s"], where: "payload->>'currency' = 'EUR'",
      sum: {field: "(payload->>'total')::numeric", op: ">=", value: 100}}}
  - {id: newsletter, condition: {attribute: newsletter, op: "=", value: true}}
  - {id: shoe_lovers, condition: {all: [{attribute: favorite_category, op: in, value: [shoes, sneakers]}, {identifier: email}]}}
  - {id: lapsed, condition: {all: [{segment: buyers}, {not: {segment: recent_buyers}}]}}
  - {id: multi_device, condition: {attribute: devices, op: ">", value: 1}}
  - {id: engaged, condition: {all: [{attribute: page_views, op: ">=", value: 5}, {any: [{segment: big_spenders}, {identifier: crm_id}]},
      {not: {attribute: city, op: is_not_set}}]}}
  - {id: quiet_visitors, condition: {all: [{attribute: first_seen, op: "<", value: "%[1]s"}, {event: web/page_view, last: %[2]dd, count: {op: "<", value: 3}}]}}
`

// benchPreview is the 3-condition tree a preview times.
var benchPreview = segment.Condition{All: []segment.Condition{
	{Attribute: "total_spend", Op: ">=", Value: 50},
	{Identifier: "email"},
	{Not: &segment.Condition{Attribute: "newsletter", Op: "=", Value: true}},
}}

// Segments loads, stitches and calculates the demo store (unless it holds
// all that), then times a full computation of 10 segments, an incremental
// run after Changed entities changed, and a preview of a 3-condition tree.
func Segments(ctx context.Context, opts SegmentsOpts) (*SegmentsReport, error) {
	storeDefaults(&opts.Events, &opts.Customers, &opts.Seed, &opts.Progress)
	if opts.Changed == 0 {
		opts.Changed = 10_000
	}
	r := &SegmentsReport{Events: opts.Events}
	base, err := config.Parse(demo.Config)
	if err != nil {
		return nil, err
	}
	demoOpts := demo.Options{Seed: opts.Seed, Customers: opts.Customers, EventsPerCustomer: float64(opts.Events) / float64(opts.Customers)}
	// The membership events of an earlier run on the store go first: the
	// store then holds the demo events only.
	for _, q := range []string{"DELETE FROM entity_events WHERE event_seq IN (SELECT seq FROM event_log WHERE source_id = 'weft')",
		"DELETE FROM event_log WHERE source_id = 'weft'"} {
		if _, err := opts.DB.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}
	if _, r.LoadTime, err = ensureLoaded(ctx, opts.DB, demoOpts, opts.Events, opts.Progress); err != nil {
		return nil, err
	}
	if r.StitchTime, err = ensureStitched(ctx, opts.DB, base.Stitching, opts.Progress); err != nil {
		return nil, err
	}
	if r.AttributesTime, err = ensureCalculated(ctx, opts.DB, base, opts.Progress); err != nil {
		return nil, err
	}
	if err := opts.DB.QueryRowContext(ctx, "SELECT count(*) FROM entities WHERE merged_into IS NULL").Scan(&r.Entities); err != nil {
		return nil, err
	}
	var end time.Time
	if err := opts.DB.QueryRowContext(ctx, "SELECT max(event_time) FROM event_log").Scan(&end); err != nil {
		return nil, err
	}
	// The runs' clock is ahead of the attribute calculation just made,
	// by more than the margin an incremental run looks back.
	now := time.Now().UTC().Add(2 * segment.MarginDefault)
	days := int(now.Sub(end).Hours()/24) + 30
	cfg, err := config.Parse(append(append([]byte{}, demo.Config...), fmt.Sprintf(benchSegments, end.Format("2006-01-02"), days)...))
	if err != nil {
		return nil, err
	}
	for _, t := range []string{"segment_members", "segment_changes", "segment_runs", "segment_state"} {
		if _, err := opts.DB.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return nil, err
		}
	}
	eng := segment.New(opts.DB, cfg.Segments, cfg.SegmentEnv(), &segment.Options{Now: func() time.Time { return now }})
	// A server keeps the copy of the payload fields up to date in the
	// background, so its runs find it: the first fill of a condition's
	// values reads it rather than every payload.
	opts.Progress("copying the payload fields")
	start := time.Now()
	if err := eng.KeepFields(ctx); err != nil {
		return nil, fmt.Errorf("copy the payload fields: %w", err)
	}
	if db := opts.DB; db.Capabilities().PayloadFields() {
		r.FieldsTime = time.Since(start)
	}
	var cpu time.Duration // of the last run
	run := func(id string, ro segment.RunOptions) (*segment.RunResult, time.Duration, error) {
		start, cpu0 := time.Now(), processCPU()
		res, err := eng.Run(ctx, id, ro)
		if err != nil {
			return nil, 0, err
		}
		for _, s := range res.Segments {
			if s.Status != "ok" {
				return nil, 0, fmt.Errorf("segment %s: %s", s.ID, s.Error)
			}
		}
		cpu = processCPU() - cpu0
		return res, time.Since(start), nil
	}
	opts.Progress("computing 10 segments fully")
	full, d, err := run("bench-full", segment.RunOptions{})
	if err != nil {
		return nil, err
	}
	r.FullSegments, r.FullPhasesMS, r.Full, r.FullCPU = full.Segments, full.PhasesMS, d, cpu
	if opts.Changed > 0 {
		opts.Progress(fmt.Sprintf("incremental run after %d entities changed", opts.Changed))
		now = now.Add(time.Minute)
		if _, err := touch(ctx, opts.DB, opts.Changed, now); err != nil {
			return nil, err
		}
		r.Changed = opts.Changed
		// Past the margin: only the changed entities are candidates.
		now = now.Add(segment.MarginDefault + time.Minute)
		inc, d, err := run("bench-incremental", segment.RunOptions{})
		if err != nil {
			return nil, err
		}
		r.IncrementalSegments, r.IncrementalPhasesMS, r.Incremental, r.IncrementalCPU = inc.Segments, inc.PhasesMS, d, cpu
	}
	opts.Progress("previews")
	var times []float64
	for range 5 {
		start := time.Now()
		p, err := eng.Preview(ctx, &benchPreview)
		if err != nil {
			return nil, err
		}
		times = append(times, float64(time.Since(start)))
		r.PreviewCount = p.Count
	}
	r.Preview = time.Duration(median(times))
	r.PeakRSSBytes = peakRSS()
	return r, nil
}
