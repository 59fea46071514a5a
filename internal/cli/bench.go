package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/duckdb"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Weft's engines at realistic sizes",
	}
	cmd.AddCommand(newBenchIngestCmd(), newBenchStitchCmd(), newBenchAttributesCmd(), newBenchJobsCmd(), newBenchPluginsCmd(), newBenchDeliveryCmd(), newBenchDeliveryLoadCmd(), newBenchPrivacyCmd(), newBenchSegmentsCmd())
	return cmd
}

func newBenchIngestCmd() *cobra.Command {
	var (
		f        serverFlags
		target   string
		opts     bench.IngestOpts
		protocol string
		writeKey string
		profile  string
		plan     trackingPlanFlags
		runs     int
	)
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Send demo events through the HTTP API and report durable events/s",
		Long: `bench ingest starts the platform in process on a fresh embedded store (or on --db), or uses a
running one given with --server, and sends --events demo events in batches of --batch-size
through POST /v1/events. Every event is durable when its batch is answered.

With --protocol segment it sends --events messages of the Segment tracking protocol instead,
shaped as @segment/analytics-node sends them (its batch envelope, messageId, timestamps, context,
properties of a realistic size), to POST /v1/batch with --write-key, in batches of 100 from 8
clients at once unless --batch-size or --parallel say otherwise, and reports durable messages/s
and the batch latencies.

After the last batch it waits, up to --stitch-wait, for the server's background stitching to
have every event (with --server, only when --stitch-wait is given), and reports how long after
the last batch that was and the CPU it took: a server gives way to a load that keeps ingestion
busy and stitches it after (weft serve --stitch-max-delay), so the events/s are durable events,
stitched this much later.

With --runs N it does all that N times, each on a fresh platform and store, and then prints the
median, minimum and maximum of the events/s, of the p99 batch latency, of the process's CPU time
(client and server) and of the stitching delay: what BENCHMARKS.md reports.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if protocol != "weft" && protocol != "segment" {
				return fmt.Errorf("--protocol %q: want weft or segment", protocol)
			}
			if runs < 1 {
				return &exitError{code: 2, err: fmt.Errorf("--runs %d: want 1 or more", runs)}
			}
			config, err := plan.config()
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			opts.Config = config
			if profile != "" {
				stop, err := cpuProfile(profile)
				if err != nil {
					return err
				}
				defer stop()
			}
			// A store that outlives a run (--server, --data, --db) gets new
			// events in each: run i sends those of seed --seed+i.
			kept := target != "" || f.storeGiven(cmd)
			var reports []*bench.IngestReport
			for i := range runs {
				o := opts
				switch {
				case target == "" && f.cfg.StitchInterval < 0:
					o.StitchWait = 0 // nothing stitches in the background
				case target != "" && !cmd.Flags().Changed("stitch-wait"):
					o.StitchWait = 0 // whether --server stitches is its own flag
				}
				if kept {
					o.Seed += uint64(i)
				}
				r, err := benchIngestRun(cmd, &f, target, o, protocol, writeKey)
				if err != nil {
					return err
				}
				if runs > 1 {
					fmt.Fprintf(out, "run %d of %d: ", i+1, runs)
				}
				fmt.Fprintln(out, r)
				reports = append(reports, r)
			}
			if runs > 1 {
				fmt.Fprintln(out, bench.SummarizeIngest(reports))
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&target, "server", "", "benchmark a running platform at this URL instead of starting one")
	cmd.Flags().StringVar(&opts.APIKey, "server-api-key", "", "x-api-key for --server")
	cmd.Flags().IntVar(&opts.Events, "events", 1_000_000, "events to send")
	cmd.Flags().IntVar(&opts.BatchSize, "batch-size", 5000, "events per request")
	cmd.Flags().IntVar(&opts.Parallel, "parallel", 2, "requests in flight")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the demo data")
	cmd.Flags().DurationVar(&opts.StitchWait, "stitch-wait", 5*time.Minute, "after the last batch, wait at most this long for background stitching to have every event and report when it did; 0: do not wait (nor with --stitch-interval negative; with --server only when given)")
	cmd.Flags().StringVar(&protocol, "protocol", "weft", "what to send: weft (records to POST /v1/events) or segment (analytics-node batches to POST /v1/batch)")
	cmd.Flags().StringVar(&profile, "cpu-profile", "", "write the CPU profile of this process (the client, and the server unless --server) while it sends to this file")
	cmd.Flags().StringVar(&writeKey, "write-key", "web", "the write key of --protocol segment; a server without keys takes it as the source of the events")
	cmd.Flags().IntVar(&runs, "runs", 1, "runs, each on a fresh platform and store unless --server, --data or --db name one (then run i sends the events of --seed+i); with more than one, the median, min and max of events/s, p99 batch latency and CPU follow")
	plan.register(cmd.Flags())
	return cmd
}

// benchIngestRun is one run of bench ingest: on target, or on a platform
// started for it in process and stopped after.
func benchIngestRun(cmd *cobra.Command, f *serverFlags, target string, opts bench.IngestOpts, protocol, writeKey string) (*bench.IngestReport, error) {
	opts.URL = target
	if target == "" {
		s, _, stop, err := f.startBench(cmd, "weft-bench-")
		if err != nil {
			return nil, err
		}
		defer stop()
		opts.URL = s.URL()
	}
	if protocol == "segment" {
		return bench.Segment(cmd.Context(), segmentOpts(cmd, opts, writeKey))
	}
	return bench.Ingest(cmd.Context(), opts)
}

// segmentOpts are the options of a Segment protocol run: the ingest
// options, with analytics-node's batch of 100 and 8 clients where the
// flags were left alone.
func segmentOpts(cmd *cobra.Command, o bench.IngestOpts, writeKey string) bench.SegmentOpts {
	s := bench.SegmentOpts{URL: o.URL, APIKey: o.APIKey, WriteKey: writeKey, Messages: o.Events, Seed: o.Seed}
	if cmd.Flags().Changed("batch-size") {
		s.BatchSize = o.BatchSize
	}
	if cmd.Flags().Changed("parallel") {
		s.Parallel = o.Parallel
	}
	return s
}

func newBenchStitchCmd() *cobra.Command {
	var (
		f              serverFlags
		opts           bench.StitchOpts
		profile        string
		baselineMemory string
		runs           int
	)
	cmd := &cobra.Command{
		Use:   "stitch",
		Short: "Load demo events into a store and time a stitching rebuild and an incremental pass",
		Long: `bench stitch loads --events demo events of --customers customers straight into a fresh
embedded store (or --data, or the PostgreSQL database --db) through the ingester, without HTTP,
and times a full rebuild with the demo stitching rules (cookie_id, email, crm_id; email and
crm_id guarded; priorities crm_id 1, cookie_id 2, email 3). It then appends --incremental events
of returning customers and times the one pass that stitches them, then a pass of --split-pass
events, 1% of which split an entity that a shared email joined (a second crm_id logs in on one
of its devices).

With --baseline sql it also stitches the rebuild's events the warehouse-native way, as dbt
identity packages and SQL-only CDPs do, in the same engine on the same store: the rules as
identifier edges, then min-label propagation until no label changes, without guard rails. It
prints both times, the rounds, the baseline's peak memory and how many times faster Weft is.
The baseline runs after Weft's part, in the store opened again with --baseline-memory-limit
(default: DuckDB's own, 80% of the machine's memory, as a dbt project on DuckDB would run), not
under Weft's --duckdb-memory-limit.

With --runs N it does all that N times, each on a store of its own (with --data, a copy of it
made beside it and removed after, so that every run starts from the same store), and then prints
the median, minimum and maximum of each figure: the rebuild, its CPU, the incremental passes, the
peak RSS, the baseline and the ratios (what BENCHMARKS.md reports).

A store that already holds exactly --events events is used as it is, so
--load-only once and copies of the data directory make repeated runs quick. With --skip-rebuild
a copy of a store stitched before is not rebuilt: one untimed run loads the engine's index,
then the incremental passes are timed as after a rebuild; --cpu-profile profiles those passes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if profile != "" {
				opts.Profile = func() (func(), error) { return cpuProfile(profile) }
			}
			if runs > 1 && opts.LoadOnly {
				return &exitError{code: 2, err: fmt.Errorf("--runs %d with --load-only: load once, then time runs on copies of the store", runs)}
			}
			var reports []*bench.StitchReport
			return runEach(cmd, &f, "weft-bench-stitch-", runs, func(bs *benchStore, progress func(string)) (fmt.Stringer, error) {
				opts.DB, opts.Progress = bs.DB, progress
				opts.BaselineDB = func(ctx context.Context) (*store.DB, error) { return bs.BaselineDB(ctx, baselineMemory) }
				return keep(&reports)(bench.Stitch(cmd.Context(), opts))
			}, func() fmt.Stringer { return bench.SummarizeStitch(reports) })
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&opts.Events, "events", 10_000_000, "events to load and rebuild")
	cmd.Flags().IntVar(&opts.Customers, "customers", 1_000_000, "customers the events come from")
	cmd.Flags().IntVar(&opts.Incremental, "incremental", 10_000, "events of the timed incremental pass; -1 skips it")
	cmd.Flags().IntVar(&opts.BatchSize, "batch-size", 0, "events a rebuild pass takes; 0 is the engine's default")
	cmd.Flags().IntVar(&opts.SplitPass, "split-pass", 10_000, "events of the timed incremental pass with splits (1% of them split an entity); -1 skips it")
	cmd.Flags().StringVar(&opts.Baseline, "baseline", "", "sql: also time the warehouse-native SQL baseline (min-label propagation) on the same store")
	cmd.Flags().StringVar(&baselineMemory, "baseline-memory-limit", "", baselineMemoryUsage)
	cmd.Flags().IntVar(&runs, "runs", 1, runsUsage)
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the demo data")
	cmd.Flags().BoolVar(&opts.LoadOnly, "load-only", false, "load the events into --data or --db and stop, to stitch copies of the store later")
	cmd.Flags().BoolVar(&opts.SkipRebuild, "skip-rebuild", false, "skip the rebuild of a store stitched before: an untimed run loads the engine's index, then the incremental passes are timed")
	cmd.Flags().StringVar(&profile, "cpu-profile", "", "write the CPU profile of the timed incremental passes (both, when --split-pass runs) to this file")
	return cmd
}

func newBenchAttributesCmd() *cobra.Command {
	var (
		f              serverFlags
		opts           bench.AttributesOpts
		baselineMemory string
		runs           int
	)
	cmd := &cobra.Command{
		Use:   "attributes",
		Short: "Time the demo attributes over a loaded, stitched store, and against the per-entity reference path",
		Long: `bench attributes loads --events demo events of --customers customers into a fresh embedded
store (or --data, or --db) and stitches them, unless the store holds them already; then it times
a calculation of the demo attributes from scratch, an incremental run over --dirty entities with
activity, and the engine against the per-entity reference path (one query per entity and
attribute) over --compared entities, the reference timed on --sample of them and scaled.

With --baseline sql (the embedded DuckDB store only) it also calculates the demo attributes the
warehouse way, as a dbt project on DuckDB would, in the same engine on the same store: a staging
view of the stitched events, the purchases' products unnested once into a table, and one plain
GROUP BY model per attribute (arg_min/arg_max, mode, count(DISTINCT ...), list) written to a long
table, recomputed in full. It prints both times, each model's time, the baseline's peak memory
and how many times faster Weft's full calculation and incremental run are. The baseline runs
after Weft's part, in the store opened again with --baseline-memory-limit (default: DuckDB's own,
80% of the machine's memory, as a dbt project on DuckDB would run), not under Weft's
--duckdb-memory-limit, which made it run out of memory at 10M events.

With --runs N it does all that N times, each on a store of its own (with --data, a copy of it
made beside it and removed after, so that every run starts from the same store), and then prints
the median, minimum and maximum of each figure: the full calculation, the incremental run, the
peak RSS, the baseline and the ratios (what BENCHMARKS.md reports).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var reports []*bench.AttributesReport
			return runEach(cmd, &f, "weft-bench-attributes-", runs, func(bs *benchStore, progress func(string)) (fmt.Stringer, error) {
				opts.DB, opts.Progress = bs.DB, progress
				opts.BaselineDB = func(ctx context.Context) (*store.DB, error) { return bs.BaselineDB(ctx, baselineMemory) }
				return keep(&reports)(bench.Attributes(cmd.Context(), opts))
			}, func() fmt.Stringer { return bench.SummarizeAttributes(reports) })
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&opts.Events, "events", 10_000_000, "events in the log")
	cmd.Flags().IntVar(&opts.Customers, "customers", 1_000_000, "customers the events come from")
	cmd.Flags().IntVar(&opts.Dirty, "dirty", 10_000, "entities with activity for the incremental run; -1 skips it")
	cmd.Flags().IntVar(&opts.Compared, "compared", 100_000, "entities to compare the engine and the reference path on; -1 skips it")
	cmd.Flags().IntVar(&opts.Sample, "sample", 100, "entities the reference path is timed on")
	cmd.Flags().BoolVar(&opts.SkipFull, "skip-full", false, "skip the calculation from scratch (the store was calculated by an earlier run)")
	cmd.Flags().StringVar(&opts.Baseline, "baseline", "", "sql: also time the warehouse-native SQL baseline (one GROUP BY model per attribute) on the same store")
	cmd.Flags().StringVar(&baselineMemory, "baseline-memory-limit", "", baselineMemoryUsage)
	cmd.Flags().IntVar(&runs, "runs", 1, runsUsage)
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the demo data")
	return cmd
}

// baselineMemoryUsage is the help of --baseline-memory-limit.
const baselineMemoryUsage = "memory_limit of the DuckDB the SQL baseline runs in, the store opened again after Weft's part; empty: DuckDB's own default (80% of the machine's memory), as a dbt project on DuckDB would run"

// runsUsage is the help of --runs.
const runsUsage = "run the benchmark this many times, each on a store of its own (with --data, a copy of it made beside it and removed after), and print the median, min and max of each figure"

// benchStore is the store a benchmark runs on, as runOnStore opened it.
type benchStore struct {
	DB  *store.DB
	cfg server.Config
}

// BaselineDB closes the store and opens it again for a SQL baseline, with
// DuckDB's memory_limit set to limit, or without Weft's bound (DuckDB's own
// default, 80% of the machine's memory) when limit is empty: the warehouse
// way runs with the settings a dbt project on DuckDB would have, in an
// engine that holds nothing of Weft's run. Opened again, the configuration
// can differ; the store's own is locked once it is open.
func (s *benchStore) BaselineDB(ctx context.Context, limit string) (*store.DB, error) {
	if s.cfg.DB != "" {
		return s.DB, nil // PostgreSQL: the baselines refuse it themselves
	}
	if limit == "" {
		limit = duckDBOwnMemoryLimit()
	}
	if err := s.DB.Close(); err != nil {
		return nil, err
	}
	cfg := s.cfg
	cfg.DuckDB.MemoryLimit = limit
	db, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening the store again for the baseline: %w", err)
	}
	s.DB = db
	return db, nil
}

// duckDBOwnMemoryLimit is DuckDB's default memory_limit, 80% of the
// machine's memory, written as Weft passes a limit.
func duckDBOwnMemoryLimit() string {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil || si.Totalram == 0 {
		return duckdb.MemoryLimitDefault
	}
	return fmt.Sprintf("%dMB", uint64(si.Totalram)*uint64(si.Unit)*8/10/1_000_000)
}

// runOnStore opens the store of the serve flags (a fresh temporary embedded
// one unless --data or --db says otherwise), runs a benchmark on it with
// progress on stderr, and prints its report.
func runOnStore(cmd *cobra.Command, f *serverFlags, prefix string, run func(*benchStore, func(string)) (fmt.Stringer, error)) error {
	out := cmd.OutOrStdout()
	dir, err := f.useTempDataDir(cmd, prefix)
	if err != nil {
		return err
	}
	if dir != "" {
		defer os.RemoveAll(dir)
	}
	cfg, err := f.config(cmd)
	if err != nil {
		return err
	}
	db, err := server.OpenStore(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	s := &benchStore{DB: db, cfg: cfg}
	defer func() { s.DB.Close() }()
	fmt.Fprintf(out, "store: %s\n", db.Dialect())
	r, err := run(s, func(s string) { fmt.Fprintf(cmd.ErrOrStderr(), "%s...\n", s) })
	if err != nil {
		return err
	}
	fmt.Fprintln(out, r)
	return nil
}

// runEach runs a benchmark runs times, each on a store of its own, printing
// each run's report, then summary's when there were several. With --data
// each run works on a copy of that store made beside it (removed after),
// so that every run starts from the same state; without it each run loads
// a fresh temporary store. PostgreSQL (--db) has no copy to make.
func runEach(cmd *cobra.Command, f *serverFlags, prefix string, runs int, run func(*benchStore, func(string)) (fmt.Stringer, error), summary func() fmt.Stringer) error {
	if runs < 1 {
		return &exitError{code: 2, err: fmt.Errorf("--runs %d: want 1 or more", runs)}
	}
	if runs == 1 {
		return runOnStore(cmd, f, prefix, run)
	}
	if f.cfg.DB != "" {
		return &exitError{code: 2, err: fmt.Errorf("--runs %d: runs on copies of the store need the embedded store (--data), not --db", runs)}
	}
	src, copies := f.cfg.DataDir, f.storeGiven(cmd)
	out := cmd.OutOrStdout()
	for i := range runs {
		fmt.Fprintf(out, "run %d of %d\n", i+1, runs)
		if !copies {
			if err := runOnStore(cmd, f, prefix, run); err != nil {
				return err
			}
			continue
		}
		dir := fmt.Sprintf("%s.run-%d", filepath.Clean(src), i+1)
		if err := copyStore(src, dir); err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("copy the store for run %d: %w", i+1, err)
		}
		f.cfg.DataDir = dir
		err := runOnStore(cmd, f, prefix, run)
		f.cfg.DataDir = src
		os.RemoveAll(dir)
		if err != nil {
			return err
		}
	}
	fmt.Fprintln(out, summary())
	return nil
}

// keep returns what a run of runEach returns, keeping each report of a
// run that succeeded in all for the summary.
func keep[R fmt.Stringer](all *[]R) func(R, error) (fmt.Stringer, error) {
	return func(r R, err error) (fmt.Stringer, error) {
		if err != nil {
			return nil, err
		}
		*all = append(*all, r)
		return r, nil
	}
}

// copyStore copies the data directory src to dst, a new folder, leaving
// out DuckDB's spill folder; a missing src gives an empty dst.
func copyStore(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == duckdb.FileName+".tmp":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// startBench starts the platform in process for a benchmark: on a fresh
// temporary embedded store unless --data or --db say otherwise, on a free
// loopback port unless --addr does, logging warnings only unless
// --log-level says otherwise. It prints the store; stop shuts it down and
// removes the temporary store.
func (f *serverFlags) startBench(cmd *cobra.Command, prefix string) (*server.Server, server.Config, func(), error) {
	dir, err := f.useTempDataDir(cmd, prefix)
	if err != nil {
		return nil, server.Config{}, nil, err
	}
	removeDir := func() {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	if !cmd.Flags().Changed("addr") {
		f.cfg.Addr = "127.0.0.1:0"
	}
	if !cmd.Flags().Changed("log-level") {
		f.logLevel = "warn"
	}
	s, cfg, err := f.start(cmd)
	if err != nil {
		removeDir()
		return nil, cfg, nil, err
	}
	store := "duckdb"
	if cfg.DB != "" {
		store = "postgres"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "store: %s\n", store)
	return s, cfg, func() { s.Shutdown(); removeDir() }, nil
}
