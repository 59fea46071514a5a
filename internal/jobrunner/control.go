package jobrunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// control is the Env.Jobs of a run: OCP's jobs API over this runner.
type control struct {
	r      *Runner
	parent *store.JobRun
}

// Trigger starts a run; its trigger names the run that started it
// ("job:<run id>"), so that the run list shows where it came from.
func (c *control) Trigger(ctx context.Context, name string, params map[string]any) (*job.JobDetail, error) {
	run, err := c.r.Trigger(ctx, name, params, "job:"+c.parent.ID)
	if err != nil {
		return nil, err
	}
	return Detail(run)
}

func (c *control) Detail(ctx context.Context, runID string) (*job.JobDetail, error) {
	run, err := c.r.db.JobRunGet(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", job.ErrRunNotFound, runID)
	}
	if err != nil {
		return nil, err
	}
	return Detail(run)
}

func (c *control) Status(ctx context.Context, runID string) (job.RunStatus, error) {
	d, err := c.Detail(ctx, runID)
	if err != nil {
		return 0, err
	}
	return d.Status, nil
}

// Detail describes a run as OCP's JobDetail: completed_at for a run that
// ended complete or in error, terminated_at for a terminated one.
func Detail(run *store.JobRun) (*job.JobDetail, error) {
	status, ok := job.ParseRunStatus(run.Status)
	if !ok {
		return nil, fmt.Errorf("run %s has the unknown status %q", run.ID, run.Status)
	}
	d := &job.JobDetail{JobID: run.ID, Status: status, Definition: job.JobDefinition{Name: run.Job},
		Errors: strings.Join(run.Errors, "\n"), StartedAt: run.StartedAt}
	if len(run.Params) > 0 {
		if err := json.Unmarshal(run.Params, &d.Definition.Parameters); err != nil {
			return nil, fmt.Errorf("run %s parameters: %w", run.ID, err)
		}
	}
	if status == job.RunTerminated {
		d.TerminatedAt = run.CompletedAt
	} else {
		d.CompletedAt = run.CompletedAt
	}
	return d, nil
}
