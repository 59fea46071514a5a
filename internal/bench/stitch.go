package bench

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// DemoStitchConfig is the stitching part of the demo weft.yaml (three
// identifier categories: cookie_id, email, crm_id; email and crm_id guarded
// by max_per_entity: 1), as the quickstart applies it.
var DemoStitchConfig = func() stitch.Config {
	cfg, err := config.Parse(demo.Config)
	if err != nil {
		panic("demo weft.yaml: " + err.Error())
	}
	return cfg.Stitching
}()

// StitchOpts describe a stitching benchmark.
type StitchOpts struct {
	// DB is the store to load and stitch; it should be empty, or hold
	// exactly the Events of an earlier load with the same options, which
	// are then used as they are.
	DB *store.DB
	// Events is the size of the log to rebuild. Default 10,000,000.
	Events int
	// Customers the events come from (about Events/Customers events each).
	// Default 1,000,000.
	Customers int
	// Incremental is how many new events (returning customers) one
	// incremental pass stitches after the rebuild. Default 10,000; -1 skips it.
	Incremental int
	// BatchSize is passed to Rebuild; 0 lets the engine choose.
	BatchSize int
	// Seed of the demo data. Default 1.
	Seed uint64
	// SplitPass is the size of a second timed incremental pass, 1% of whose
	// events split an entity that a shared email joined (splits.go); 0 or
	// -1 skips it.
	SplitPass int
	// Baseline, "sql", also stitches the rebuild's events the
	// warehouse-native way (SQLBaseline) on the same store, after Weft's
	// passes, for comparison; "" skips it.
	Baseline string
	// BaselineDB, when set, gives the store the baseline runs in, called
	// after Weft's part (see AttributesOpts.BaselineDB). Nil: DB.
	BaselineDB func(context.Context) (*store.DB, error)
	// LoadOnly stops after loading, so that copies of the store can be
	// stitched several times.
	LoadOnly bool
	// SkipRebuild leaves out the rebuild of a store stitched before: an
	// untimed run loads the engine's index (and stitches what is left),
	// then the incremental passes are timed as after a rebuild.
	SkipRebuild bool
	// Profile, when set, is started just before the timed incremental
	// passes and stopped just after them (a CPU profile of them alone).
	Profile func() (stop func(), err error)
	// Progress, when set, is told what the benchmark is doing.
	Progress func(string)
}

// StitchReport is what a stitching benchmark measured.
type StitchReport struct {
	Events   int
	Loaded   bool // false when the store held the events already
	LoadTime time.Duration
	// RebuildSkipped: SkipRebuild, the store was stitched before.
	RebuildSkipped bool

	Rebuild     stitch.Result
	RebuildTime time.Duration
	// RebuildCPU is this process's CPU time (user and system, DuckDB's
	// threads included when embedded) during the rebuild: on a machine
	// others load, a steadier figure than its wall time.
	RebuildCPU        time.Duration
	RebuildPerSec     float64
	Entities          int64
	Incremental       stitch.Result
	IncrementalTime   time.Duration
	IncrementalPerSec float64
	// The incremental pass with splits (SplitPass): its time, what the
	// engine reported, how many of its events should split an entity and
	// how many pairs of customers were apart after it.
	SplitPassTime   time.Duration
	SplitPassResult stitch.Result
	SplitTriggers   int
	SplitsApart     int
	// Baseline is the SQL baseline's run, nil without one.
	Baseline *BaselineReport
	// RestartTime is the first Run of a new engine (as after a restart)
	// with nothing to stitch: loading the engine's index from the tables.
	RestartTime time.Duration

	// PeakRSSBytes is this process's peak resident memory (DuckDB's buffers
	// included when embedded), PeakHeapBytes the most Go heap in use seen
	// by a sampler during the stitching.
	PeakRSSBytes  int64
	PeakHeapBytes uint64
}

func (r *StitchReport) String() string {
	load := "events were in the store already"
	if r.Loaded {
		load = fmt.Sprintf("loaded in %s", r.LoadTime.Round(time.Millisecond))
	}
	if r.RebuildTime == 0 && !r.RebuildSkipped {
		return fmt.Sprintf("%d events (%s)", r.Events, load)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d events (%s)\n", r.Events, load)
	if r.RebuildSkipped {
		fmt.Fprintf(&b, "rebuild: skipped (stitched before); %d entities\n", r.Entities)
	} else {
		fmt.Fprintf(&b, "rebuild: %s, %.0f events/s; %d entities, %d merges; CPU %s\n",
			r.RebuildTime.Round(time.Millisecond), r.RebuildPerSec, r.Entities, r.Rebuild.Merges, r.RebuildCPU.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, `incremental pass of %d events: %s, %.0f events/s; %d new entities, %d merges
first run of a new engine (index load): %s
peak RSS %d MiB, peak Go heap %d MiB`,
		r.Incremental.EventsProcessed, r.IncrementalTime.Round(time.Microsecond*100), r.IncrementalPerSec,
		r.Incremental.EntitiesCreated, r.Incremental.Merges,
		r.RestartTime.Round(time.Millisecond),
		r.PeakRSSBytes>>20, r.PeakHeapBytes>>20)
	if r.SplitTriggers > 0 {
		fmt.Fprintf(&b, "\nincremental with splits: %d events, %d of them splitting an entity: %s; %d pairs apart after it; result %+v",
			r.SplitPassResult.EventsProcessed, r.SplitTriggers, r.SplitPassTime.Round(time.Microsecond*100), r.SplitsApart, r.SplitPassResult)
	}
	if bl := r.Baseline; bl != nil {
		fmt.Fprintf(&b, "\nSQL baseline (min-label propagation, no guard rails) over the rebuild's events: %s, %d rounds; %d entities, %d identifiers, %d events with two or more",
			bl.Time.Round(time.Millisecond), bl.Rounds, bl.Entities, bl.Identifiers, bl.Bridges)
		fmt.Fprintf(&b, "\n  rules %s, tables %s, rounds %s, events' labels %s",
			bl.RulesTime.Round(time.Millisecond), bl.TablesTime.Round(time.Millisecond), bl.RoundsTime.Round(time.Millisecond), bl.ResultTime.Round(time.Millisecond))
		fmt.Fprintf(&b, "\nbaseline peak RSS %d MiB (%d MiB at its start; this process: DuckDB when embedded, not a PostgreSQL server)", bl.PeakRSSBytes>>20, bl.StartRSSBytes>>20)
		if bl.MemoryLimit != "" {
			fmt.Fprintf(&b, ", DuckDB memory_limit %s", bl.MemoryLimit)
		}
		if r.RebuildTime > 0 {
			fmt.Fprintf(&b, "\nWeft's rebuild is %.2fx as fast as the baseline", bl.Time.Seconds()/r.RebuildTime.Seconds())
		}
		if r.IncrementalTime > 0 {
			fmt.Fprintf(&b, "; its incremental pass %.0fx as fast as the baseline's full recomputation", bl.Time.Seconds()/r.IncrementalTime.Seconds())
		}
	}
	return b.String()
}

func (o *StitchOpts) withDefaults() {
	if o.Events <= 0 {
		o.Events = 10_000_000
	}
	if o.Customers <= 0 {
		o.Customers = 1_000_000
	}
	if o.Incremental == 0 {
		o.Incremental = 10_000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.SplitPass < 0 {
		o.SplitPass = 0
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
}

// Stitch loads demo events into the store through the ingester (no HTTP),
// times a full rebuild with the demo rules, then appends Incremental events
// of returning customers and times the one pass that stitches them. With
// SplitPass it then times a pass in which 1% of the events split an entity
// (splits.go); with Baseline "sql", last, it times the SQL baseline
// (SQLBaseline) over the events the rebuild stitched, in the same store.
// Every pass uses StitchConfig.
func Stitch(ctx context.Context, opts StitchOpts) (*StitchReport, error) {
	opts.withDefaults()
	if opts.Baseline != "" && opts.Baseline != "sql" {
		return nil, fmt.Errorf("baseline %q: want sql, or none", opts.Baseline)
	}
	demoOpts := demo.Options{Seed: opts.Seed, Customers: opts.Customers, EventsPerCustomer: float64(opts.Events) / float64(opts.Customers)}
	r := &StitchReport{Events: opts.Events}
	var err error
	if r.Loaded, r.LoadTime, err = ensureLoaded(ctx, opts.DB, demoOpts, opts.Events, opts.Progress); err != nil {
		return nil, err
	}

	if opts.LoadOnly {
		return r, nil
	}
	eng, err := stitch.New(opts.DB, StitchConfig, nil)
	if err != nil {
		return nil, err
	}
	heap := sampleHeap()
	defer heap.stop()
	if err := stitchRebuild(ctx, eng, opts, r); err != nil {
		return nil, err
	}
	rebuilt, err := eng.Watermark(ctx)
	if err != nil {
		return nil, err
	}
	if err := opts.DB.QueryRowContext(ctx, "SELECT count(*) FROM entities WHERE merged_into IS NULL").Scan(&r.Entities); err != nil {
		return nil, err
	}

	stopProfile := func() {}
	if opts.Profile != nil {
		stop, err := opts.Profile()
		if err != nil {
			return nil, err
		}
		stopProfile = sync.OnceFunc(stop)
		defer stopProfile()
	}
	if opts.Incremental > 0 {
		opts.Progress(fmt.Sprintf("appending %d events of returning customers", opts.Incremental))
		if _, err := Load(ctx, opts.DB, demo.Revisits(demoOpts, opts.Incremental)); err != nil {
			return nil, err
		}
		opts.Progress("incremental pass")
		start := time.Now()
		res, err := eng.Run(ctx, opts.Incremental)
		if err != nil {
			return nil, fmt.Errorf("incremental pass: %w", err)
		}
		r.IncrementalTime = time.Since(start)
		r.Incremental = *res
		r.IncrementalPerSec = float64(res.EventsProcessed) / r.IncrementalTime.Seconds()
	}
	if opts.SplitPass > 0 {
		if err := runSplitScenario(ctx, eng, opts, demoOpts, r); err != nil {
			return nil, err
		}
	}
	stopProfile()
	r.PeakHeapBytes = heap.stop()
	r.PeakRSSBytes = peakRSS()

	opts.Progress("first run of a new engine")
	fresh, err := stitch.New(opts.DB, StitchConfig, nil)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if _, err := fresh.Run(ctx, 0); err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	r.RestartTime = time.Since(start)

	if opts.Baseline == "sql" {
		opts.Progress("SQL baseline")
		db, err := baselineDB(ctx, opts.DB, opts.BaselineDB)
		if err != nil {
			return nil, err
		}
		if r.Baseline, err = SQLBaseline(ctx, BaselineOpts{DB: db, Config: StitchConfig, MaxSeq: rebuilt}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// stitchRebuild times the rebuild of the loaded events into r, or with
// SkipRebuild runs the engine once, untimed, over the store stitched
// before: the index it loads is what a rebuild leaves in memory.
func stitchRebuild(ctx context.Context, eng *stitch.Engine, opts StitchOpts, r *StitchReport) error {
	if opts.SkipRebuild {
		opts.Progress("loading the index of the stitched store (no rebuild)")
		if _, err := eng.Run(ctx, 0); err != nil {
			return fmt.Errorf("first run: %w", err)
		}
		r.RebuildSkipped = true
		return nil
	}
	opts.Progress("rebuilding")
	start, cpu := time.Now(), processCPU()
	res, err := eng.Rebuild(ctx, opts.BatchSize)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	r.RebuildTime, r.RebuildCPU = time.Since(start), processCPU()-cpu
	r.Rebuild = *res
	r.RebuildPerSec = float64(res.EventsProcessed) / r.RebuildTime.Seconds()
	return nil
}

// ensureLoaded loads n demo events into an empty store, or accepts a store
// holding exactly n events from an earlier load.
func ensureLoaded(ctx context.Context, db *store.DB, demoOpts demo.Options, n int, progress func(string)) (bool, time.Duration, error) {
	st, err := db.Stats(ctx)
	if err != nil {
		return false, 0, err
	}
	switch st.Events {
	case 0:
		progress(fmt.Sprintf("loading %d events", n))
		start := time.Now()
		got, err := Load(ctx, db, demo.Stream(demoOpts, n))
		if err != nil {
			return false, 0, err
		}
		if got != n {
			return false, 0, fmt.Errorf("loaded %d events of %d", got, n)
		}
		return true, time.Since(start), nil
	case int64(n):
		return false, 0, nil
	}
	return false, 0, fmt.Errorf("the store holds %d events; the benchmark needs an empty one or one with exactly %d", st.Events, n)
}

// Load appends events to the store through the decoder and ingester, as
// the API would, without HTTP, and returns how many were new. Records are
// encoded and decoded in a goroutine while the previous batch is appended.
func Load(ctx context.Context, s store.Store, events iter.Seq[demo.Event]) (int, error) {
	n, _, err := loadWith(ctx, event.NewIngester(s, nil), events)
	return n, err
}

// loadWith is Load through the ingester in; it also returns how many
// events the ingester dropped as suppressed.
func loadWith(ctx context.Context, in *event.Ingester, events iter.Seq[demo.Event]) (int, int, error) {
	const batchSize = 20_000
	batches := make(chan *event.Batch, 1)
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		var buf bytes.Buffer
		var line []byte
		n := 0
		flush := func() bool {
			b, err := event.Decode(&buf, event.FormatNDJSON)
			buf.Reset()
			if err == nil && len(b.Rejected) > 0 {
				err = fmt.Errorf("demo record rejected: %v", b.Rejected[0])
			}
			if err != nil {
				errc <- err
				return false
			}
			select {
			case batches <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for e := range events {
			line = e.AppendJSON(line[:0])
			buf.Write(line)
			buf.WriteByte('\n')
			if n++; n%batchSize == 0 && !flush() {
				return
			}
		}
		if buf.Len() > 0 {
			flush()
		}
	}()
	total, dropped := 0, 0
	for b := range batches {
		res, err := in.Ingest(ctx, b)
		if err != nil {
			return total, dropped, err
		}
		total, dropped = total+res.Accepted, dropped+res.Suppressed
	}
	select {
	case err := <-errc:
		return total, dropped, err
	default:
	}
	return total, dropped, ctx.Err()
}

// heapSampler records the most Go heap in use, sampled every 50 ms.
type heapSampler struct {
	done chan struct{}
	peak chan uint64
}

func sampleHeap() *heapSampler {
	h := &heapSampler{done: make(chan struct{}), peak: make(chan uint64, 1)}
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-h.done:
				h.peak <- peak
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// stop ends the sampling and returns the peak; later calls return 0.
func (h *heapSampler) stop() uint64 {
	select {
	case <-h.done:
		return 0
	default:
	}
	close(h.done)
	return <-h.peak
}
