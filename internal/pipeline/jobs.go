package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/pluginrun"
	"github.com/weftdata/weft/internal/privacy"
	"github.com/weftdata/weft/internal/quartz"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// The built-in jobs and their schedules when weft.yaml declares none.
const (
	StitchingJob  = "stitching"
	AttributesJob = "attributes"

	stitchingCronDefault  = "0 * * * * ?" // catches appends by other processes
	attributesCronDefault = "0 0 * * * ?" // stale values and context queries
)

// pluginCleanupEvery is how often what ended plugin runs left behind
// (staging rows, old runs' files) is looked for: cheap queries over small
// tables.
const pluginCleanupEvery = time.Minute

// Jobs is the job runtime.
func (p *Pipeline) Jobs() *jobrunner.Runner { return p.jobs }

// Run runs the job runtime until ctx ends, keeps the copy of the payload
// fields segments read, and triggers a stitching run about StitchInterval
// after events arrive (unless it is negative), or up to StitchMaxDelay
// later while ingestion is saturated (stitchPacer).
func (p *Pipeline) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.jobs.Run(ctx)
	}()
	defer func() { <-done }()
	if p.opts.Plugins != nil {
		cleaned := make(chan struct{})
		go func() {
			defer close(cleaned)
			p.opts.Plugins.CleanupLoop(ctx, pluginCleanupEvery)
		}()
		defer func() { <-cleaned }()
	}
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		p.keepSegmentFields(ctx)
	}()
	defer func() { <-kept }()
	if p.opts.StitchInterval < 0 {
		return
	}
	p.dirty.Store(true) // catch up on what arrived while we were down
	tick := time.NewTicker(p.opts.StitchInterval)
	defer tick.Stop()
	pacer := newStitchPacer(p.opts.IngestBusy, p.opts.StitchMaxDelay, time.Now())
	for {
		var now time.Time
		select {
		case <-ctx.Done():
			return
		case now = <-tick.C:
		}
		due := pacer.due(now, p.dirty.Load())
		p.givingWay.Store(pacer.givingWay())
		if !due || !p.dirty.Swap(false) {
			continue
		}
		if err := p.jobs.Ensure(ctx, StitchingJob, "events"); err != nil && ctx.Err() == nil {
			p.dirty.Store(true)
			p.log.Error("jobs: trigger stitching", "error", err)
		}
	}
}

// RunJob triggers a run of a job and waits for it to end.
func (p *Pipeline) RunJob(ctx context.Context, name string, params map[string]any, trigger string) (*store.JobRun, error) {
	run, err := p.jobs.Trigger(ctx, name, params, trigger)
	if err != nil {
		return nil, err
	}
	return p.jobs.Wait(ctx, run.ID)
}

// schedules are the jobs of a config: the declared ones (checked against
// the registry and, when the job can, its parameters) and the built-in
// jobs with their default schedules unless declared.
func (p *Pipeline) schedules(cfg *config.Config) ([]jobrunner.Schedule, error) {
	var out []jobrunner.Schedule
	names := make([]string, 0, len(cfg.Jobs))
	for name := range cfg.Jobs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s, err := p.schedule(name, cfg.Jobs[name])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if p.opts.Plugins != nil {
		for _, pl := range cfg.Plugins {
			s := jobrunner.Schedule{Job: plugin.JobPrefix + pl.Name, Kind: pluginrun.Kind,
				Parameters: map[string]any{"plugin": pl.Name}, Enabled: true}
			if pl.Schedule != "" {
				cron, err := quartz.Parse(pl.Schedule)
				if err != nil {
					return nil, &config.Error{Field: "plugins." + pl.Name + ".schedule", Err: err}
				}
				s.Cron = cron
			}
			out = append(out, s)
		}
	}
	ds, err := p.destinationSchedules(cfg)
	if err != nil {
		return nil, err
	}
	out = append(out, ds...)
	if p.opts.StitchInterval >= 0 {
		for name, cron := range map[string]string{StitchingJob: stitchingCronDefault, AttributesJob: attributesCronDefault, RetentionJob: retentionCronDefault, kv.SweepJob: kv.SweepCronDefault} {
			if _, declared := cfg.Jobs[name]; !declared {
				s, _ := p.schedule(name, config.Job{Cron: cron})
				out = append(out, s)
			}
		}
		// The privacy processor, where this process has it, runs daily
		// too: each run sweeps the exports past their retention.
		if _, declared := cfg.Jobs[privacy.JobKind]; !declared {
			if _, ok := p.jobs.Lookup(privacy.JobKind); ok {
				s, _ := p.schedule(privacy.JobKind, config.Job{Cron: privacyCronDefault})
				out = append(out, s)
			}
		}
	}
	out = append(out, p.segmentsSchedule(cfg)...)
	return out, nil
}

func (p *Pipeline) schedule(name string, j config.Job) (jobrunner.Schedule, error) {
	kind := j.Kind(name)
	s := jobrunner.Schedule{Job: name, Kind: kind, Parameters: j.Parameters, Enabled: j.IsEnabled(), PerformTimeout: j.PerformDeadline()}
	info, ok := p.jobs.Lookup(kind)
	if !ok {
		return s, &config.Error{Field: "jobs." + name, Err: fmt.Errorf("no job named %q is built into this weft binary (known: %s)", kind, p.jobs.KindNames())}
	}
	params, err := json.Marshal(orEmpty(j.Parameters))
	if err == nil {
		err = info.ValidateParams(job.WithEnv(context.Background(), &p.opts.Jobs.Env), params)
	}
	if err != nil {
		return s, &config.Error{Field: "jobs." + name + ".parameters", Err: err}
	}
	if j.Cron != "" {
		cron, err := quartz.Parse(j.Cron)
		if err != nil {
			return s, &config.Error{Field: "jobs." + name + ".cron", Err: err}
		}
		s.Cron = cron
	}
	return s, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func (p *Pipeline) builtinJobs() []job.Info {
	out := []job.Info{
		job.Typed[stitchingParams, *StitchResult](StitchingJob, "stitch the events that arrived into customer entities",
			func() *stitchingJob { return &stitchingJob{p: p} }),
		job.Typed[attr.RunOptions, *attr.RunResult](AttributesJob, "calculate the attributes of the entities that are due",
			func() *attributesJob { return &attributesJob{p: p} }),
		p.retentionInfo(),
		p.segmentsInfo(),
		kv.SweepInfo(kv.New(p.db, nil)),
	}
	out = append(out, p.destinationJobs()...)
	if p.opts.Plugins != nil {
		out = append(out, pluginrun.Info(&pluginrun.Deps{Plugins: p.opts.Plugins, WorkDir: p.opts.PluginWorkDir,
			Config: func(ctx context.Context) (*config.Config, error) {
				_, cfg, err := p.Config(ctx)
				return cfg, err
			}}))
	}
	return out
}

// stitchingParams are the stitching job's parameters.
type stitchingParams struct {
	// FromScratch rebuilds every entity from the event log.
	FromScratch bool `json:"from_scratch"`
}

// stitchingJob runs one stitching pass, then triggers an attribute run
// when entities changed. Its state is empty after Prepare and the pass's
// result once complete.
type stitchingJob struct {
	p       *Pipeline
	params  stitchingParams
	log     func(msg string, args ...any)
	trigger string
}

func (j *stitchingJob) Prepare(ctx context.Context, inv *job.Invocation, params stitchingParams, st **StitchResult, _ bool) (bool, error) {
	j.log, j.params, j.trigger = inv.Log.Info, params, inv.Trigger
	*st = nil // a resumed run stitches again
	return false, nil
}

func (j *stitchingJob) Perform(ctx context.Context, st **StitchResult) (bool, error) {
	// The minute's run catches appends by other processes; while this
	// one's loop gives way to a bulk load, the run the loop asks for
	// within --stitch-max-delay catches them too.
	if j.trigger == "schedule" && !j.params.FromScratch && j.p.givingWay.Load() {
		j.log("skipped: ingestion is saturated, stitching waits for the load (--stitch-max-delay)")
		*st = &StitchResult{}
		return true, nil
	}
	res, err := j.p.Stitch(ctx, j.params.FromScratch)
	if err != nil {
		return false, err
	}
	if res.EventsProcessed > 0 || res.FromScratch {
		j.log("stitched", "events", res.EventsProcessed, "entities_created", res.EntitiesCreated,
			"merges", res.Merges, "from_scratch", res.FromScratch, "ms", res.DurationMS)
	}
	// Entities changed: their attributes are due. With the background off
	// (a negative StitchInterval) everything runs on demand only.
	if (res.EventsProcessed > 0 || res.FromScratch) && j.p.opts.StitchInterval >= 0 {
		if err := j.p.jobs.Ensure(ctx, AttributesJob, StitchingJob); err != nil {
			return false, fmt.Errorf("trigger attributes: %w", err)
		}
	}
	*st = res
	return true, nil
}

// attributesJob runs the attribute engine (parameters as attr.RunOptions).
// Its state is empty after Prepare and the run's result once complete.
type attributesJob struct {
	p      *Pipeline
	params attr.RunOptions
	inv    *job.Invocation
}

var _ job.ParamsValidator[attr.RunOptions] = (*attributesJob)(nil)

func (j *attributesJob) ValidateParams(_ context.Context, params attr.RunOptions) error {
	if params.FromScratch && params.RecalculateAll {
		return errors.New("from_scratch and recalculate_all exclude each other: from_scratch clears the values first, recalculate_all keeps them until replaced")
	}
	return nil
}

func (j *attributesJob) Prepare(ctx context.Context, inv *job.Invocation, params attr.RunOptions, st **attr.RunResult, _ bool) (bool, error) {
	j.inv, j.params = inv, params
	*st = nil // a resumed run calculates again
	return false, j.ValidateParams(ctx, params)
}

func (j *attributesJob) Perform(ctx context.Context, st **attr.RunResult) (bool, error) {
	res, err := j.p.Attributes(ctx, j.params)
	if err != nil {
		return false, err
	}
	log := j.inv.Log
	for _, a := range res.Attributes {
		if a.Status != "ok" {
			log.Error("attribute failed", "attribute", a.ID, "error", a.Error)
		}
	}
	for _, c := range res.Contexts {
		if c.Error != "" {
			log.Error("context query failed", "key", c.Key, "error", c.Error)
		}
	}
	if res.DueEntities > 0 {
		log.Info("attributes calculated", "entities", res.DueEntities, "attributes", len(res.Attributes), "ms", res.DurationMS)
	}
	if err := j.p.segmentsAfterAttributes(ctx); err != nil {
		log.Error("segments not triggered", "error", err)
	}
	*st = res
	return true, nil
}
