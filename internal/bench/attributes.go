package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// AttributesOpts describe an attribute benchmark.
type AttributesOpts struct {
	// DB is the store: empty, or holding exactly Events events of an
	// earlier load with the same options (stitched or not).
	DB *store.DB
	// Events and Customers size the log. Defaults 10,000,000 and 1,000,000.
	Events    int
	Customers int
	// Dirty is how many entities the incremental run finds with activity.
	// Default 10,000; -1 skips it.
	Dirty int
	// Compared is how many entities the engine and the per-entity
	// reference path are compared on. Default 100,000; -1 skips it.
	Compared int
	// Sample is how many of those the reference path is timed on (it is
	// slow); its time is scaled to Compared. Default 100.
	Sample int
	// Seed of the demo data. Default 1.
	Seed uint64
	// SkipFull skips the calculation from scratch when the store was
	// calculated by an earlier run (for quick repeats of the rest).
	SkipFull bool
	// Baseline, "sql", also calculates the demo attributes the warehouse
	// way (SQLAttributesBaseline) on the same store, last.
	Baseline string
	// BaselineDB, when set, gives the store the baseline runs in, called
	// after Weft's part: the same store opened again with the baseline's
	// own settings (cmd weft: DuckDB's default memory_limit). Nil: DB.
	BaselineDB func(context.Context) (*store.DB, error)
	Progress   func(string)
}

// AttributesReport is what an attribute benchmark measured.
type AttributesReport struct {
	Events     int
	Entities   int64
	Attributes int
	LoadTime   time.Duration // 0 when the store was loaded already
	StitchTime time.Duration // 0 when it was stitched already

	Full           time.Duration
	FullAttributes []attr.AttributeResult
	FullPhases     map[string]float64

	Dirty           int64
	IncrementalTime time.Duration
	Incremental     *attr.RunResult

	Compared        int64
	EngineCompared  time.Duration
	Sample          int
	ReferenceSample time.Duration
	Speedup         float64

	// PeakRSSBytes is this process's peak resident memory before the
	// baseline ran (DuckDB included).
	PeakRSSBytes int64

	// Baseline is the SQL baseline's run, nil without one.
	Baseline *AttrBaselineReport
}

func (r *AttributesReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d events, %d live entities, %d attributes\n", r.Events, r.Entities, r.Attributes)
	if r.LoadTime > 0 {
		fmt.Fprintf(&b, "loaded in %s\n", r.LoadTime.Round(time.Millisecond))
	}
	if r.StitchTime > 0 {
		fmt.Fprintf(&b, "stitched in %s\n", r.StitchTime.Round(time.Millisecond))
	}
	if r.Full > 0 {
		fmt.Fprintf(&b, "full calculation: %s, %.0f entities/s; %s\n", r.Full.Round(time.Millisecond), float64(r.Entities)/r.Full.Seconds(), phases(r.FullPhases))
		for _, a := range r.FullAttributes {
			fmt.Fprintf(&b, "  %-28s %8.0f ms  %s\n", a.ID, a.DurationMS, a.Status)
		}
	}
	if r.Incremental != nil {
		attrMS := 0.0
		for _, a := range r.Incremental.Attributes {
			attrMS += a.DurationMS
		}
		fmt.Fprintf(&b, "incremental run, %d dirty entities: %s (attribute statements %.0f ms; %s)\n",
			r.Dirty, r.IncrementalTime.Round(time.Millisecond), attrMS, phases(r.Incremental.PhasesMS))
	}
	if r.Compared > 0 {
		perEntity := r.ReferenceSample / time.Duration(r.Sample)
		fmt.Fprintf(&b, "engine on %d entities: %s; reference path: %s for %d entities (%s each), %s scaled to %d: engine %.0fx faster\n",
			r.Compared, r.EngineCompared.Round(time.Millisecond), r.ReferenceSample.Round(time.Millisecond), r.Sample,
			perEntity.Round(time.Microsecond), (perEntity * time.Duration(r.Compared)).Round(time.Second), r.Compared, r.Speedup)
	}
	fmt.Fprintf(&b, "peak RSS %d MiB", r.PeakRSSBytes>>20)
	if bl := r.Baseline; bl != nil {
		fmt.Fprintf(&b, "\n%s", bl)
		if r.Full > 0 {
			fmt.Fprintf(&b, "\nWeft's full calculation is %.2fx as fast as the baseline", bl.Time.Seconds()/r.Full.Seconds())
		}
		if r.IncrementalTime > 0 {
			fmt.Fprintf(&b, "; its incremental run %.1fx as fast as the baseline's full recomputation", bl.Time.Seconds()/r.IncrementalTime.Seconds())
		}
	}
	return b.String()
}

// phases prints a run's phase times, sorted by name.
func phases(ms map[string]float64) string {
	names := make([]string, 0, len(ms))
	for n := range ms {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.0f ms", n, ms[n])
	}
	return strings.Join(parts, ", ")
}

func (o *AttributesOpts) withDefaults() {
	storeDefaults(&o.Events, &o.Customers, &o.Seed, &o.Progress)
	if o.Dirty == 0 {
		o.Dirty = 10_000
	}
	if o.Compared == 0 {
		o.Compared = 100_000
	}
	if o.Sample <= 0 {
		o.Sample = 100
	}
}

// storeDefaults fills in the demo store's defaults: 10,000,000 events of
// 1,000,000 customers, seed 1, no progress reports.
func storeDefaults(events, customers *int, seed *uint64, progress *func(string)) {
	if *events <= 0 {
		*events = 10_000_000
	}
	if *customers <= 0 {
		*customers = 1_000_000
	}
	if *seed == 0 {
		*seed = 1
	}
	if *progress == nil {
		*progress = func(string) {}
	}
}

// Attributes loads and stitches demo events (unless the store holds them),
// times a calculation of the demo attributes from scratch, an incremental
// run over Dirty entities with activity, and the engine against the
// per-entity reference path (attr.Reference) on Compared entities.
func Attributes(ctx context.Context, opts AttributesOpts) (*AttributesReport, error) {
	opts.withDefaults()
	if opts.Baseline != "" && opts.Baseline != "sql" {
		return nil, fmt.Errorf("baseline %q: want sql, or none", opts.Baseline)
	}
	cfg, err := config.Parse(demo.Config)
	if err != nil {
		return nil, err
	}
	r := &AttributesReport{Events: opts.Events, Attributes: len(cfg.Attributes)}
	demoOpts := demo.Options{Seed: opts.Seed, Customers: opts.Customers, EventsPerCustomer: float64(opts.Events) / float64(opts.Customers)}
	if _, r.LoadTime, err = ensureLoaded(ctx, opts.DB, demoOpts, opts.Events, opts.Progress); err != nil {
		return nil, err
	}
	if r.StitchTime, err = ensureStitched(ctx, opts.DB, cfg.Stitching, opts.Progress); err != nil {
		return nil, err
	}
	if err := opts.DB.QueryRowContext(ctx, "SELECT count(*) FROM entities WHERE merged_into IS NULL").Scan(&r.Entities); err != nil {
		return nil, err
	}
	now := time.Now()
	clock := func() time.Time { return now }
	eng, err := attr.New(opts.DB, cfg.Attributes, cfg.Context, &attr.Options{Now: clock})
	if err != nil {
		return nil, err
	}

	if !opts.SkipFull {
		opts.Progress("calculating every attribute from scratch")
		start := time.Now()
		res, err := eng.Run(ctx, attr.RunOptions{FromScratch: true})
		if err != nil {
			return nil, err
		}
		r.Full, r.FullAttributes, r.FullPhases = time.Since(start), res.Attributes, res.PhasesMS
		for _, a := range res.Attributes {
			if a.Status != "ok" {
				return nil, fmt.Errorf("attribute %s: %s", a.ID, a.Error)
			}
		}
	}

	if opts.Dirty > 0 {
		opts.Progress(fmt.Sprintf("incremental run over %d entities with activity", opts.Dirty))
		now = now.Add(time.Minute)
		if _, err := touch(ctx, opts.DB, opts.Dirty, now); err != nil {
			return nil, err
		}
		now = now.Add(time.Minute)
		start := time.Now()
		res, err := eng.Run(ctx, attr.RunOptions{})
		if err != nil {
			return nil, err
		}
		r.IncrementalTime, r.Dirty, r.Incremental = time.Since(start), res.DueEntities, res
	}

	if opts.Compared > 0 {
		if err := compareReference(ctx, opts, eng, r, &now); err != nil {
			return nil, err
		}
	}
	r.PeakRSSBytes = peakRSS()
	if opts.Baseline == "sql" {
		opts.Progress("SQL baseline")
		db, err := baselineDB(ctx, opts.DB, opts.BaselineDB)
		if err != nil {
			return nil, err
		}
		if r.Baseline, err = SQLAttributesBaseline(ctx, AttrBaselineOpts{DB: db}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ensureStitched stitches what the store has not stitched yet.
func ensureStitched(ctx context.Context, db *store.DB, cfg stitch.Config, progress func(string)) (time.Duration, error) {
	st, err := db.Stats(ctx)
	if err != nil || st.StitchedSeq == st.MaxSeq {
		return 0, err
	}
	eng, err := stitch.New(db, cfg, nil)
	if err != nil {
		return 0, err
	}
	progress("stitching")
	start := time.Now()
	_, err = eng.Rebuild(ctx, 0)
	return time.Since(start), err
}

// touch gives n live entities activity at the time at (as new events or
// merges would) and returns their ids.
func touch(ctx context.Context, db *store.DB, n int, at time.Time) ([]string, error) {
	ids, err := somePeople(ctx, db, n)
	if err != nil {
		return nil, err
	}
	_, err = db.ExecContext(ctx, "UPDATE entities SET modified_at = $1 WHERE id IN (SELECT unnest(CAST($2 AS TEXT[])))", at, ids)
	return ids, err
}

// compareReference times the engine over Compared entities with activity,
// and the reference path, one query per entity and attribute, over a
// random Sample of them. (The tests check that both give the same values.)
func compareReference(ctx context.Context, opts AttributesOpts, eng *attr.Engine, r *AttributesReport, now *time.Time) error {
	opts.Progress(fmt.Sprintf("engine over %d entities", opts.Compared))
	*now = now.Add(time.Minute)
	ids, err := touch(ctx, opts.DB, opts.Compared, *now)
	if err != nil {
		return err
	}
	*now = now.Add(time.Minute)
	start := time.Now()
	res, err := eng.Run(ctx, attr.RunOptions{})
	if err != nil {
		return err
	}
	r.EngineCompared, r.Compared = time.Since(start), res.DueEntities

	opts.Progress(fmt.Sprintf("reference path over %d of them", opts.Sample))
	pick := rand.New(rand.NewPCG(opts.Seed, 7))
	sample := make([]string, min(opts.Sample, len(ids)))
	for i := range sample {
		sample[i] = ids[pick.IntN(len(ids))]
	}
	defs := eng.Definitions()
	start = time.Now()
	for _, id := range sample {
		for i := range defs {
			if _, err := attr.Reference(ctx, opts.DB, &defs[i], id); err != nil {
				return fmt.Errorf("reference %s for %s: %w", defs[i].ID, id, err)
			}
		}
	}
	r.ReferenceSample, r.Sample = time.Since(start), len(sample)
	scaled := r.ReferenceSample.Seconds() / float64(r.Sample) * float64(r.Compared)
	r.Speedup = scaled / r.EngineCompared.Seconds()
	return nil
}
