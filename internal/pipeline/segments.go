package pipeline

import (
	"context"
	"fmt"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/job"
)

// SegmentsJob computes the members of the segments (package segment).
const SegmentsJob = "segments"

// segmentsCronDefault catches windows that moved (relative dates) when
// no attribute run triggers it.
const segmentsCronDefault = "0 30 * * * ?"

// segmentsJob runs the segment engine of the config in force (parameters
// as segment.RunOptions). Its state is empty after Prepare and the run's
// result once complete.
type segmentsJob struct {
	p      *Pipeline
	params segment.RunOptions
	inv    *job.Invocation
}

func (j *segmentsJob) Prepare(_ context.Context, inv *job.Invocation, params segment.RunOptions, st **segment.RunResult, _ bool) (bool, error) {
	j.inv, j.params = inv, params
	*st = nil // a resumed run computes again
	return false, nil
}

func (j *segmentsJob) Perform(ctx context.Context, st **segment.RunResult) (bool, error) {
	res, err := j.p.Segments(ctx, j.inv.RunID, j.params)
	if err != nil {
		return false, err
	}
	for _, s := range res.Segments {
		if s.Status != "ok" {
			j.inv.Log.Error("segment failed", "segment", s.ID, "error", s.Error)
		} else if s.Entered+s.Exited > 0 {
			j.inv.Log.Info("segment computed", "segment", s.ID, "full", s.Full, "size", s.Size, "entered", s.Entered, "exited", s.Exited, "ms", s.DurationMS)
		}
	}
	*st = res
	return true, nil
}

func (p *Pipeline) segmentsInfo() job.Info {
	return job.Typed[segment.RunOptions, *segment.RunResult](SegmentsJob, "compute the members of the segments: fully when a definition changed, else for the entities whose inputs changed",
		func() *segmentsJob { return &segmentsJob{p: p} })
}

// Segments runs the segment engine of the config in force now.
func (p *Pipeline) Segments(ctx context.Context, runID string, ro segment.RunOptions) (*segment.RunResult, error) {
	f, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	res, err := p.segmentEngine(f.cfg).Run(ctx, runID, ro)
	if err != nil {
		return nil, err
	}
	for _, s := range res.Segments {
		if s.Entered+s.Exited > 0 {
			// Membership events were appended to the log: stitching
			// gives them to their entities; the webhooks of segments
			// send the changes now rather than at their next tick.
			p.EventsArrived()
			if err := p.TriggerDestinations(ctx, SegmentsJob); err != nil {
				p.log.Error("jobs: trigger destinations", "error", err)
			}
			break
		}
	}
	return res, nil
}

// segmentsSchedule is the segments job's default schedule, when there
// are segments and the config declares none.
func (p *Pipeline) segmentsSchedule(cfg *config.Config) []jobrunner.Schedule {
	if _, declared := cfg.Jobs[SegmentsJob]; declared || len(cfg.Segments) == 0 || p.opts.StitchInterval < 0 {
		return nil
	}
	s, _ := p.schedule(SegmentsJob, config.Job{Cron: segmentsCronDefault})
	return []jobrunner.Schedule{s}
}

// SegmentPreview computes a condition tree that is not saved against the
// config in force.
func (p *Pipeline) SegmentPreview(ctx context.Context, cond *segment.Condition) (*segment.Preview, error) {
	f, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	return p.segmentEngine(f.cfg).Preview(ctx, cond)
}

func (p *Pipeline) segmentEngine(cfg *config.Config) *segment.Engine {
	return segment.New(p.db, cfg.Segments, cfg.SegmentEnv(), &segment.Options{Now: p.opts.Segments.Now})
}

// segmentsAfterAttributes triggers the segments job after an attribute
// run, when there are segments.
func (p *Pipeline) segmentsAfterAttributes(ctx context.Context) error {
	_, cfg, err := p.Config(ctx)
	if err != nil || len(cfg.Segments) == 0 || p.opts.StitchInterval < 0 {
		return err
	}
	if err := p.jobs.Ensure(ctx, SegmentsJob, AttributesJob); err != nil {
		return fmt.Errorf("trigger segments: %w", err)
	}
	return nil
}

// checkSegments checks, at apply, what the segments need of the
// database: their SQL runs (each segment's members query, planned and
// run on no entity), and the plugin properties they name exist or belong
// to a declared plugin.
func (p *Pipeline) checkSegments(ctx context.Context, cfg *config.Config) error {
	if len(cfg.Segments) == 0 {
		return nil
	}
	if err := p.segmentEngine(cfg).Check(ctx); err != nil {
		return &config.Error{Err: err}
	}
	return nil
}
