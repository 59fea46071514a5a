package bench

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"runtime"
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
	// LoadOnly stops after loading, so that copies of the store can be
	// stitched several times.
	LoadOnly bool
	// Progress, when set, is told what the benchmark is doing.
	Progress func(string)
}

// StitchReport is what a stitching benchmark measured.
type StitchReport struct {
	Events   int
	Loaded   bool // false when the store held the events already
	LoadTime time.Duration

	Rebuild           stitch.Result
	RebuildTime       time.Duration
	RebuildPerSec     float64
	Entities          int64
	Incremental       stitch.Result
	IncrementalTime   time.Duration
	IncrementalPerSec float64
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
	if r.RebuildTime == 0 {
		return fmt.Sprintf("%d events (%s)", r.Events, load)
	}
	return fmt.Sprintf(`%d events (%s)
rebuild: %s, %.0f events/s; %d entities, %d merges
incremental pass of %d events: %s, %.0f events/s; %d new entities, %d merges
first run of a new engine (index load): %s
peak RSS %d MiB, peak Go heap %d MiB`,
		r.Events, load,
		r.RebuildTime.Round(time.Millisecond), r.RebuildPerSec, r.Entities, r.Rebuild.Merges,
		r.Incremental.EventsProcessed, r.IncrementalTime.Round(time.Microsecond*100), r.IncrementalPerSec,
		r.Incremental.EntitiesCreated, r.Incremental.Merges,
		r.RestartTime.Round(time.Millisecond),
		r.PeakRSSBytes>>20, r.PeakHeapBytes>>20)
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
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
}

// Stitch loads demo events into the store through the ingester (no HTTP),
// times a full rebuild with the demo rules, then appends Incremental events
// of returning customers and times the one pass that stitches them.
func Stitch(ctx context.Context, opts StitchOpts) (*StitchReport, error) {
	opts.withDefaults()
	demoOpts := demo.Options{Seed: opts.Seed, Customers: opts.Customers, EventsPerCustomer: float64(opts.Events) / float64(opts.Customers)}
	r := &StitchReport{Events: opts.Events}
	var err error
	if r.Loaded, r.LoadTime, err = ensureLoaded(ctx, opts.DB, demoOpts, opts.Events, opts.Progress); err != nil {
		return nil, err
	}

	if opts.LoadOnly {
		return r, nil
	}
	eng, err := stitch.New(opts.DB, DemoStitchConfig, nil)
	if err != nil {
		return nil, err
	}
	heap := sampleHeap()
	defer heap.stop()
	opts.Progress("rebuilding")
	start := time.Now()
	res, err := eng.Rebuild(ctx, opts.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	r.RebuildTime = time.Since(start)
	r.Rebuild = *res
	r.RebuildPerSec = float64(res.EventsProcessed) / r.RebuildTime.Seconds()
	if err := opts.DB.QueryRowContext(ctx, "SELECT count(*) FROM entities WHERE merged_into IS NULL").Scan(&r.Entities); err != nil {
		return nil, err
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
	r.PeakHeapBytes = heap.stop()
	r.PeakRSSBytes = peakRSS()

	opts.Progress("first run of a new engine")
	fresh, err := stitch.New(opts.DB, DemoStitchConfig, nil)
	if err != nil {
		return nil, err
	}
	start = time.Now()
	if _, err := fresh.Run(ctx, 0); err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	r.RestartTime = time.Since(start)
	return r, nil
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
