package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/job"
)

// RetentionJob deletes the events older than weft.yaml's retention
// periods (package erasure, Retain).
const RetentionJob = "retention"

// retentionCronDefault runs it daily, at a quiet hour (UTC): a period is
// whole hours at least, and each run rewrites what it deleted from.
const retentionCronDefault = "0 15 3 * * ?"

// privacyCronDefault runs the privacy_requests job (package privacy) daily
// besides when requests arrive, so that exports past their retention go
// even when no request comes.
const privacyCronDefault = "0 45 3 * * ?"

// retentionParams are the retention job's parameters (none).
type retentionParams struct{}

// retentionJob runs one retention pass under the configuration in force,
// then triggers an attribute run when entities lost events. Its state is
// empty after Prepare and the pass's result once complete.
type retentionJob struct {
	p   *Pipeline
	inv *job.Invocation
}

func (j *retentionJob) Prepare(_ context.Context, inv *job.Invocation, _ retentionParams, st **erasure.RetentionResult, _ bool) (bool, error) {
	j.inv = inv
	*st = nil // a resumed run looks again
	return false, nil
}

func (j *retentionJob) Perform(ctx context.Context, st **erasure.RetentionResult) (bool, error) {
	_, cfg, err := j.p.Config(ctx)
	if err != nil {
		return false, err
	}
	res, err := erasure.Retain(ctx, j.p.db, cfg.Retention, time.Now())
	if err != nil {
		return false, err
	}
	if res.Events > 0 {
		j.inv.Log.Info("events past their retention deleted", "events", res.Events, "entities", res.Entities,
			"reclaim_ms", res.ReclaimMS, "ms", res.DurationMS)
	}
	if res.Entities > 0 && j.p.opts.StitchInterval >= 0 {
		if err := j.p.jobs.Ensure(ctx, AttributesJob, RetentionJob); err != nil {
			return false, fmt.Errorf("trigger attributes: %w", err)
		}
	}
	*st = &res
	return true, nil
}

func (p *Pipeline) retentionInfo() job.Info {
	return job.Typed[retentionParams, *erasure.RetentionResult](RetentionJob, "delete the events older than weft.yaml's retention periods",
		func() *retentionJob { return &retentionJob{p: p} })
}

// StitchingRules returns the stitching rules in force (the derived
// delivery rules included): what identifiers an event carries.
func (p *Pipeline) StitchingRules(ctx context.Context) (stitch.Config, error) {
	_, cfg, err := p.Config(ctx)
	if err != nil {
		return stitch.Config{}, err
	}
	return cfg.EffectiveStitching(), nil
}
