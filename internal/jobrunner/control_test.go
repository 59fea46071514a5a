package jobrunner

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/job"
)

// parent is a test job that uses Env.Jobs: it triggers a count to 2,
// follows it to its end and keeps what it saw.
type parent struct {
	inv  *job.Invocation
	seen chan<- parentSaw
}

type parentSaw struct {
	triggered, final     *job.JobDetail
	statuses             []job.RunStatus
	unknown, missing     error
	badParams, missStats error
}

func (p *parent) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, resuming bool) (*job.Status, error) {
	p.inv = inv
	return &job.Status{}, nil
}

func (p *parent) Perform(ctx context.Context, st *job.Status) (*job.Status, error) {
	jobs := p.inv.Jobs
	var saw parentSaw
	var err error
	if saw.triggered, err = jobs.Trigger(ctx, "count", map[string]any{"to": 2}); err != nil {
		return nil, err
	}
	for {
		s, err := jobs.Status(ctx, saw.triggered.JobID)
		if err != nil {
			return nil, err
		}
		if len(saw.statuses) == 0 || saw.statuses[len(saw.statuses)-1] != s {
			saw.statuses = append(saw.statuses, s)
		}
		if s >= job.RunComplete {
			break
		}
		if err := job.Sleep(ctx, 10*time.Millisecond, true); err != nil {
			return nil, err
		}
	}
	if saw.final, err = jobs.Detail(ctx, saw.triggered.JobID); err != nil {
		return nil, err
	}
	_, saw.unknown = jobs.Trigger(ctx, "no_such_job", nil)
	_, saw.badParams = jobs.Trigger(ctx, "count", map[string]any{"to": "two"})
	_, saw.missing = jobs.Detail(ctx, "no-such-run")
	_, saw.missStats = jobs.Status(ctx, "no-such-run")
	p.seen <- saw
	return &job.Status{Complete: true}, nil
}

// TestEnvJobs: job code triggers another job and follows it through
// Env.Jobs (OCP's jobs.trigger, getDetail, getStatus), with OCP's
// JobRunStatus numbers and JobDetail fields.
func TestEnvJobs(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			seen := make(chan parentSaw, 1)
			f := newFixture(t, backend, Options{Builtin: []job.Info{{Name: "parent", New: func() job.Job { return &parent{seen: seen} }}}})
			f.start(t)
			run := f.runToEnd(t, "parent", nil)
			if run.Status != store.RunComplete {
				t.Fatalf("parent = %+v", run)
			}
			saw := <-seen
			tr := saw.triggered
			if tr.Status != job.RunPending || tr.Definition.Name != "count" || tr.Definition.Parameters["to"] != 2.0 || tr.Errors != "" || tr.StartedAt != nil {
				t.Fatalf("triggered = %+v", tr)
			}
			child := mustGet(t, f.db, tr.JobID)
			if child.Trigger != "job:"+run.ID {
				t.Fatalf("child trigger %q", child.Trigger)
			}
			if last := saw.statuses[len(saw.statuses)-1]; last != job.RunComplete || int(last) != 3 {
				t.Fatalf("statuses = %v", saw.statuses)
			}
			fin := saw.final
			if fin.Status != job.RunComplete || fin.StartedAt == nil || fin.CompletedAt == nil || fin.TerminatedAt != nil || !fin.CompletedAt.Equal(*child.CompletedAt) {
				t.Fatalf("final = %+v", fin)
			}
			if !errors.Is(saw.unknown, job.ErrUnknownJob) || !errors.Is(saw.unknown, ErrUnknownJob) {
				t.Fatalf("unknown job: %v", saw.unknown)
			}
			if !errors.Is(saw.badParams, job.ErrBadParam) {
				t.Fatalf("bad params: %v", saw.badParams)
			}
			if !errors.Is(saw.missing, job.ErrRunNotFound) || !errors.Is(saw.missStats, job.ErrRunNotFound) || saw.missing.Error() != "no such run: no-such-run" {
				t.Fatalf("missing run: %v / %v", saw.missing, saw.missStats)
			}
		})
	}
}

// TestDetailTerminatedAndError: terminated_at for a terminated run, the
// errors one a line, and the status numbers of OCP.
func TestDetailTerminatedAndError(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	d, err := Detail(&store.JobRun{ID: "r", Job: "j", Status: store.RunTerminated, Params: []byte(`{}`), Errors: []string{"attempt 1: x", "terminated by request"}, CompletedAt: &at})
	if err != nil || d.Status != job.RunTerminated || int(d.Status) != 5 || d.TerminatedAt != &at || d.CompletedAt != nil || d.Errors != "attempt 1: x\nterminated by request" {
		t.Fatalf("detail = %+v %v", d, err)
	}
	d, err = Detail(&store.JobRun{ID: "r", Job: "j", Status: store.RunError, Errors: []string{}, CompletedAt: &at})
	if err != nil || int(d.Status) != 4 || d.CompletedAt != &at || d.Errors != "" {
		t.Fatalf("detail = %+v %v", d, err)
	}
	for i, name := range []string{"pending", "scheduled", "running", "complete", "error", "terminated"} {
		if s, ok := job.ParseRunStatus(name); !ok || int(s) != i || s.String() != name {
			t.Errorf("%s = %d", name, s)
		}
	}
	if _, err := Detail(&store.JobRun{ID: "r", Status: "odd"}); err == nil {
		t.Fatal("unknown status accepted")
	}
}
