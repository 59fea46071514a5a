package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/object"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// StitchIntervalDefault is how soon after events arrive stitching runs.
const StitchIntervalDefault = time.Second

// Options tune a Pipeline; zero values take the defaults.
type Options struct {
	// StitchInterval is the pause between background stitching passes;
	// negative turns the background loop off (on demand only).
	StitchInterval time.Duration
	// StitchMaxDelay is the longest the background loop puts stitching off
	// while ingestion is saturated (IngestBusy); 0 takes
	// StitchMaxDelayDefault, negative never puts it off.
	StitchMaxDelay time.Duration
	// IngestBusy, when set, is the ingester's event.Ingester.Busy: how long
	// ingest calls have run in all. Without it stitching never waits.
	IngestBusy func() time.Duration
	// SegmentFieldsInterval is the pause between the background catch-ups
	// of the copy of payload fields (keepSegmentFields); negative turns
	// the loop off, and previews then copy what they read themselves.
	SegmentFieldsInterval time.Duration
	// StitchBatch is the events per pass (0: stitch.BatchSizeDefault).
	StitchBatch int
	// Attributes tune the attribute engine (chunk size, the 48-hour and
	// 24-hour intervals, the clock).
	Attributes attr.Options
	// Jobs tune the job runtime; its built-in jobs are added here.
	Jobs jobrunner.Options
	// Plugins, when set, adds the job that runs plugins (kind plugin) and
	// declares plugin:<name> for every plugin of weft.yaml.
	Plugins *plugin.Service
	// PluginWorkDir holds the working directories of plugin stages
	// (default the system's temporary directory).
	PluginWorkDir string
	// Segments tune the segment engine (its clock).
	Segments segment.Options
	// StrictCatalog refuses a config naming event types the catalog does
	// not know; without it Apply warns (Applied.Warnings).
	StrictCatalog bool
	// ExportFolders are the local folders file:// targets of file exports
	// may write to (weft serve --export-folder); nil allows any (tests).
	ExportFolders []string
	Logger        *slog.Logger
}

// Pipeline holds the configuration in force and runs the stages.
type Pipeline struct {
	db   *store.DB
	opts Options
	log  *slog.Logger

	mu       sync.Mutex // guards inUse and watchers
	inUse    *inForce
	watchers []func(*config.Config)

	// runMu serializes stitching and attribute runs: both write entities,
	// and DuckDB refuses concurrent writes to the same rows.
	runMu sync.Mutex
	dirty atomic.Bool // events arrived since the last pass
	// givingWay is set while the background loop puts stitching off for a
	// saturating load (stitchPacer): scheduled runs step aside too.
	givingWay atomic.Bool

	jobs    *jobrunner.Runner
	objects *object.Store // of the object types in force
}

// inForce is the configuration in force: as stored, parsed, and its
// engines.
type inForce struct {
	stored  *store.StoredConfig
	cfg     *config.Config
	engines *engines
}

// engines run one config.
type engines struct {
	stitch  *stitch.Engine
	attr    *attr.Engine
	objects *object.Schema
}

// newEngines builds the engines of a config; with check, it also runs
// their SQL against the database. Errors are *config.Error.
func (p *Pipeline) newEngines(ctx context.Context, cfg *config.Config, check bool) (*engines, error) {
	se, err := stitch.New(p.db, cfg.EffectiveStitching(), nil)
	if err != nil {
		return nil, config.StitchingError(err)
	}
	ao := p.opts.Attributes
	ae, err := attr.New(p.db, cfg.Attributes, cfg.Context, &ao)
	if err != nil {
		return nil, &config.Error{Err: err}
	}
	objects, err := object.NewSchema(cfg.Objects)
	if err != nil {
		return nil, &config.Error{Err: err}
	}
	if check {
		// What runs programs is the operator's to allow, not the config's.
		for i := range cfg.Plugins {
			if p.opts.Plugins == nil {
				break
			}
			if err := p.opts.Plugins.CheckCommand(&cfg.Plugins[i]); err != nil {
				return nil, &config.Error{Field: "plugins[" + cfg.Plugins[i].Name + "].command", Err: err}
			}
		}
		if err := se.ValidateSQL(ctx); err != nil {
			return nil, config.StitchingError(err)
		}
		if err := ae.ValidateSQL(ctx); err != nil {
			return nil, &config.Error{Err: err}
		}
		if err := p.checkSegments(ctx, cfg); err != nil {
			return nil, err
		}
	}
	return &engines{stitch: se, attr: ae, objects: objects}, nil
}

// New loads the configuration in force from the store.
func New(ctx context.Context, db *store.DB, opts Options) (*Pipeline, error) {
	if opts.StitchInterval == 0 {
		opts.StitchInterval = StitchIntervalDefault
	}
	if opts.StitchMaxDelay == 0 {
		opts.StitchMaxDelay = StitchMaxDelayDefault
	}
	if opts.SegmentFieldsInterval == 0 {
		opts.SegmentFieldsInterval = SegmentFieldsIntervalDefault
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Pipeline{db: db, opts: opts, log: opts.Logger}
	p.objects = object.NewStore(db, func(ctx context.Context) (*object.Schema, error) {
		f, err := p.current(ctx)
		if err != nil {
			return nil, err
		}
		return f.engines.objects, nil
	}, nil)
	jo := opts.Jobs
	jo.Builtin = append(p.builtinJobs(), jo.Builtin...)
	jo.Exclusive = jo.Exclusive || db.Capabilities().SingleWriter()
	if jo.Log == nil {
		jo.Log = opts.Logger
	}
	if jo.Env.Objects == nil {
		jo.Env.Objects = p.objects
	}
	p.jobs = jobrunner.New(db, jo)
	if _, err := p.current(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// current returns the config in force, reloading it when another process
// applied a newer version.
func (p *Pipeline) current(ctx context.Context) (*inForce, error) {
	stored, err := p.db.ConfigCurrent(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inUse != nil && stored.Version <= p.inUse.stored.Version {
		return p.inUse, nil
	}
	cfg := &config.Config{}
	if stored.Version > 0 {
		if err := json.Unmarshal([]byte(stored.Normalized), cfg); err != nil {
			return nil, fmt.Errorf("config version %d in the store: %w", stored.Version, err)
		}
	}
	eng, err := p.newEngines(ctx, cfg, false)
	if err != nil {
		return nil, fmt.Errorf("config version %d in the store: %w", stored.Version, err)
	}
	p.setInUse(&inForce{stored: stored, cfg: cfg, engines: eng})
	sched, err := p.storedSchedules(cfg)
	if err != nil {
		return nil, fmt.Errorf("config version %d in the store: %w", stored.Version, err)
	}
	p.jobs.SetSchedules(sched)
	return p.inUse, nil
}

// Applied describes a configuration just put in force.
type Applied struct {
	Version   int64     `json:"version"`
	AppliedAt time.Time `json:"applied_at"`
	// StitchingRebuild says the stitching rules changed, so the next pass
	// rebuilds the entities from the whole log.
	StitchingRebuild bool `json:"stitching_rebuild"`
	// StitchingForward says the stitching rules changed and apply to the
	// events stitched from now on only (ApplyOptions.StitchingForward).
	StitchingForward bool `json:"stitching_forward,omitempty"`
	// AttributesCalculating says attributes were added or changed, and a
	// run of the attributes job calculating them was triggered.
	AttributesCalculating bool `json:"attributes_calculating,omitempty"`
	// Warnings are what the config names that is likely a mistake, such
	// as event types the catalog does not know (see checkCatalog).
	Warnings []string `json:"warnings,omitempty"`
}

// Apply validates a weft.yaml document (YAML or JSON) completely, SQL
// included, and puts it in force. On any error nothing changes; the error
// is a *config.Error naming the part at fault. The object tables are
// created and altered first, in one transaction (see object.Store.Sync);
// should saving the config then fail, they hold what the new config
// declares but the old one stays in force, and applying again completes
// the change.
func (p *Pipeline) Apply(ctx context.Context, body []byte) (*Applied, error) {
	return p.ApplyWith(ctx, body, ApplyOptions{})
}

// ApplyWith is Apply with options (see ApplyOptions).
func (p *Pipeline) ApplyWith(ctx context.Context, body []byte, ao ApplyOptions) (*Applied, error) {
	c, err := p.check(ctx, body)
	if err != nil {
		return nil, err
	}
	if ao.StitchingForward {
		// No stitching pass may start between putting the rules in force
		// and recording them as built: it would rebuild.
		p.runMu.Lock()
		defer p.runMu.Unlock()
	}
	cfg, eng, sched, warnings := c.cfg, c.engines, c.schedules, c.warnings
	old, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	var defErr *object.DefinitionError
	if err := p.objects.Sync(ctx, eng.objects); errors.As(err, &defErr) {
		return nil, &config.Error{Err: err}
	} else if err != nil {
		return nil, err
	}
	stored, err := p.db.ConfigSave(ctx, string(body), cfg.JSON())
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.setInUse(&inForce{stored: stored, cfg: cfg, engines: eng})
	p.mu.Unlock()
	p.jobs.SetSchedules(sched)
	p.dirty.Store(true)
	rebuild := old.cfg.StitchingHash() != cfg.StitchingHash()
	forward := false
	if rebuild && ao.StitchingForward {
		if forward, err = p.forward(ctx, old.cfg, cfg); err != nil {
			return nil, err
		}
		rebuild = !forward
		if !forward {
			warnings = append(warnings, ForwardPendingWarning)
		}
	}
	p.log.Info("config applied", "version", stored.Version, "stitching_rules", len(cfg.Stitching.Rules),
		"attributes", len(cfg.Attributes), "object_types", len(cfg.Objects), "stitching_rebuild", rebuild, "stitching_forward", forward)
	calculating, err := p.calculateNewAttributes(ctx, old.cfg.Attributes, cfg.Attributes)
	if err != nil {
		p.log.Error("config applied, but its new attributes wait for the next scheduled run", "error", err)
	}
	for _, w := range warnings {
		p.log.Warn("config applied with a likely mistake", "warning", w)
	}
	return &Applied{Version: stored.Version, AppliedAt: stored.AppliedAt, StitchingRebuild: rebuild,
		StitchingForward: forward, AttributesCalculating: calculating, Warnings: warnings}, nil
}

// checked is a document that passed every check of Apply but the object
// tables' (which Apply's Sync and Validate's Plan run).
type checked struct {
	cfg       *config.Config
	engines   *engines
	schedules []jobrunner.Schedule
	warnings  []string
}

// check runs the checks of Apply that change nothing: parsing, the
// catalog, the engines' SQL, schedules, destinations and export targets.
func (p *Pipeline) check(ctx context.Context, body []byte) (*checked, error) {
	cfg, err := config.Parse(body)
	if err != nil {
		return nil, err
	}
	warnings, err := p.checkCatalog(ctx, cfg)
	if err != nil {
		return nil, err
	}
	eng, err := p.newEngines(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	sched, err := p.schedules(cfg)
	if err != nil {
		return nil, err
	}
	if err := p.checkDestinations(ctx, cfg); err != nil {
		return nil, err
	}
	if err := p.checkExportTargets(cfg); err != nil {
		return nil, err
	}
	return &checked{cfg: cfg, engines: eng, schedules: sched, warnings: warnings}, nil
}

// Validate runs every check Apply runs on a document, the object tables'
// included (planned, not run), and changes nothing: a dry run of Apply
// (the console's validate button). It returns Apply's warnings; errors
// are Apply's, a *config.Error naming the part at fault.
func (p *Pipeline) Validate(ctx context.Context, body []byte) ([]string, error) {
	c, err := p.check(ctx, body)
	if err != nil {
		return nil, err
	}
	var defErr *object.DefinitionError
	if _, err := p.objects.Plan(ctx, c.engines.objects); errors.As(err, &defErr) {
		return nil, &config.Error{Err: err}
	} else if err != nil {
		return nil, err
	}
	return c.warnings, nil
}

// Unmask returns a document to apply with the masked keys and secrets
// (as GET /v1/config shows them) replaced by the values in force.
func (p *Pipeline) Unmask(ctx context.Context, body []byte) ([]byte, error) {
	if !bytes.Contains(body, []byte(config.MaskPrefix)) {
		return body, nil
	}
	stored, _, err := p.Config(ctx)
	if err != nil {
		return nil, err
	}
	return config.Unmask(body, []byte(stored.Body))
}

// setInUse puts a config in force and tells the watchers; p.mu is held.
func (p *Pipeline) setInUse(f *inForce) {
	p.inUse = f
	for _, fn := range p.watchers {
		fn(f.cfg)
	}
}

// Watch calls fn with the configuration in force now and again whenever
// another one is put in force: applied here, or found in the store when
// another process applied it (Config notices). fn runs under the
// pipeline's lock, so it must be quick and must not call the pipeline.
func (p *Pipeline) Watch(fn func(*config.Config)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watchers = append(p.watchers, fn)
	if p.inUse != nil {
		fn(p.inUse.cfg)
	}
}

// Config returns the configuration in force as stored.
func (p *Pipeline) Config(ctx context.Context) (*store.StoredConfig, *config.Config, error) {
	f, err := p.current(ctx)
	if err != nil {
		return nil, nil, err
	}
	return f.stored, f.cfg, nil
}

// Objects reads and writes the records of the object types in force; it
// is the job runtime's job.Objects.
func (p *Pipeline) Objects() *object.Store { return p.objects }

// EventsArrived tells the background loop that there is work.
func (p *Pipeline) EventsArrived() { p.dirty.Store(true) }

// Stitch runs stitching up to the end of the log as it stands (events appended
// meanwhile are left to the next run): incrementally, or from
// scratch when asked or when the rules changed since the entities were built.
func (p *Pipeline) Stitch(ctx context.Context, fromScratch bool) (*StitchResult, error) {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	f, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	return p.stitch(ctx, f, fromScratch)
}

func (p *Pipeline) stitch(ctx context.Context, f *inForce, fromScratch bool) (*StitchResult, error) {
	hash := f.cfg.StitchingHash()
	built, err := p.rulesHash(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	out := &StitchResult{FromScratch: fromScratch || built != hash}
	var res *stitch.Result
	if out.FromScratch {
		res, err = f.engines.stitch.Rebuild(ctx, p.opts.StitchBatch)
		if err == nil {
			err = p.setRulesHash(ctx, hash)
		}
	} else {
		res, err = f.engines.stitch.Run(ctx, p.opts.StitchBatch)
	}
	if res != nil {
		out.Result = *res
	}
	out.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return out, err
}

// Attributes calculates attributes now (see attr.RunOptions).
func (p *Pipeline) Attributes(ctx context.Context, ro attr.RunOptions) (*attr.RunResult, error) {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	f, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	return f.engines.attr.Run(ctx, ro)
}

// StitchResult is what a stitching run did.
type StitchResult struct {
	stitch.Result
	FromScratch bool    `json:"from_scratch"`
	DurationMS  float64 `json:"duration_ms"`
}

func (p *Pipeline) rulesHash(ctx context.Context) (string, error) {
	var h *string
	if err := p.db.QueryRowContext(ctx, p.db.Query("StitchRulesHashGet")).Scan(&h); err != nil {
		return "", fmt.Errorf("read stitching state: %w", err)
	}
	if h == nil {
		return "", nil
	}
	return *h, nil
}

func (p *Pipeline) setRulesHash(ctx context.Context, h string) error {
	_, err := p.db.ExecContext(ctx, p.db.Query("StitchRulesHashSet"), h)
	return err
}
