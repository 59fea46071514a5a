package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/pluginrun"
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

// Run runs the job runtime until ctx ends, and triggers a stitching run
// about StitchInterval after events arrive (unless it is negative).
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
	if p.opts.StitchInterval < 0 {
		return
	}
	p.dirty.Store(true) // catch up on what arrived while we were down
	tick := time.NewTicker(p.opts.StitchInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !p.dirty.Swap(false) {
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
	if p.opts.StitchInterval >= 0 {
		for name, cron := range map[string]string{StitchingJob: stitchingCronDefault, AttributesJob: attributesCronDefault} {
			if _, declared := cfg.Jobs[name]; !declared {
				s, _ := p.schedule(name, config.Job{Cron: cron})
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func (p *Pipeline) schedule(name string, j config.Job) (jobrunner.Schedule, error) {
	kind := j.Kind(name)
	s := jobrunner.Schedule{Job: name, Kind: kind, Parameters: j.Parameters, Enabled: j.IsEnabled()}
	info, ok := p.jobs.Lookup(kind)
	if !ok {
		return s, &config.Error{Field: "jobs." + name, Err: fmt.Errorf("no job named %q is built into this weft binary (known: %s)", kind, p.jobs.KindNames())}
	}
	if v, ok := info.New().(job.ParamsValidator); ok {
		if err := v.ValidateParams(orEmpty(j.Parameters)); err != nil {
			return s, &config.Error{Field: "jobs." + name + ".parameters", Err: err}
		}
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
		{Name: StitchingJob, Description: "stitch the events that arrived into customer entities", New: func() job.Job { return &stitchingJob{p: p} }},
		{Name: AttributesJob, Description: "calculate the attributes of the entities that are due", New: func() job.Job { return &attributesJob{p: p} }},
	}
	if p.opts.Plugins != nil {
		out = append(out, pluginrun.Info(&pluginrun.Deps{Plugins: p.opts.Plugins, WorkDir: p.opts.PluginWorkDir,
			Config: func(ctx context.Context) (*config.Config, error) {
				_, cfg, err := p.Config(ctx)
				return cfg, err
			}}))
	}
	return out
}

// stitchingJob runs one stitching pass (parameter from_scratch), then
// triggers an attribute run when entities changed.
type stitchingJob struct {
	p      *Pipeline
	params struct {
		FromScratch bool `json:"from_scratch"`
	}
	log func(msg string, args ...any)
}

func (j *stitchingJob) ValidateParams(params map[string]any) error {
	return decodeParams(params, &j.params)
}

func (j *stitchingJob) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, resuming bool) (*job.Status, error) {
	j.log = inv.Log.Info
	return &job.Status{State: map[string]any{}}, j.ValidateParams(inv.Parameters)
}

func (j *stitchingJob) Perform(ctx context.Context, st *job.Status) (*job.Status, error) {
	res, err := j.p.Stitch(ctx, j.params.FromScratch)
	if err != nil {
		return nil, err
	}
	if res.EventsProcessed > 0 || res.FromScratch {
		j.log("stitched", "events", res.EventsProcessed, "entities_created", res.EntitiesCreated,
			"merges", res.Merges, "from_scratch", res.FromScratch, "ms", res.DurationMS)
	}
	// Entities changed: their attributes are due. With the background off
	// (a negative StitchInterval) everything runs on demand only.
	if (res.EventsProcessed > 0 || res.FromScratch) && j.p.opts.StitchInterval >= 0 {
		if err := j.p.jobs.Ensure(ctx, AttributesJob, StitchingJob); err != nil {
			return nil, fmt.Errorf("trigger attributes: %w", err)
		}
	}
	return doneWith(res)
}

// attributesJob runs the attribute engine (parameters as attr.RunOptions).
type attributesJob struct {
	p      *Pipeline
	params attr.RunOptions
	inv    *job.Invocation
}

func (j *attributesJob) ValidateParams(params map[string]any) error {
	if err := decodeParams(params, &j.params); err != nil {
		return err
	}
	if j.params.FromScratch && j.params.RecalculateAll {
		return errors.New("from_scratch and recalculate_all exclude each other: from_scratch clears the values first, recalculate_all keeps them until replaced")
	}
	return nil
}

func (j *attributesJob) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, resuming bool) (*job.Status, error) {
	j.inv = inv
	return &job.Status{State: map[string]any{}}, j.ValidateParams(inv.Parameters)
}

func (j *attributesJob) Perform(ctx context.Context, st *job.Status) (*job.Status, error) {
	res, err := j.p.Attributes(ctx, j.params)
	if err != nil {
		return nil, err
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
	return doneWith(res)
}

// decodeParams reads parameters into a struct, refusing unknown ones.
func decodeParams(params map[string]any, into any) error {
	b, err := json.Marshal(params)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("parameters: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// doneWith is a complete status whose state is a result.
func doneWith(result any) (*job.Status, error) {
	b, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	state := map[string]any{}
	if err := json.Unmarshal(b, &state); err != nil {
		return nil, err
	}
	return &job.Status{State: state, Complete: true}, nil
}
