package job

import (
	"context"
	"errors"
	"time"
)

// JobControl lets a job start runs of other jobs and follow them, as
// OCP's jobs.trigger, jobs.getDetail and jobs.getStatus do. Env.Jobs is
// one; it is nil outside a runtime.
type JobControl interface {
	// Trigger starts a run of a declared or registered job now with
	// params (which override the declared ones) and returns it. An
	// unknown job is ErrUnknownJob; refused parameters are ErrBadParam.
	Trigger(ctx context.Context, name string, params map[string]any) (*JobDetail, error)
	// Detail reads a run; an unknown id is ErrRunNotFound.
	Detail(ctx context.Context, runID string) (*JobDetail, error)
	// Status reads a run's status; an unknown id is ErrRunNotFound.
	Status(ctx context.Context, runID string) (RunStatus, error)
}

var (
	// ErrUnknownJob is a trigger of a job that is neither declared nor
	// registered.
	ErrUnknownJob = errors.New("unknown job")
	// ErrRunNotFound is a run id that no run has (or whose run was
	// pruned).
	ErrRunNotFound = errors.New("no such run")
)

// RunStatus is the status of a run, numbered as OCP's JobRunStatus.
type RunStatus int

// The statuses of a run, in OCP's numbering.
const (
	RunPending RunStatus = iota
	RunScheduled
	RunRunning
	RunComplete
	RunError
	RunTerminated
)

var runStatusNames = []string{"pending", "scheduled", "running", "complete", "error", "terminated"}

// String is the status as the API and the CLI write it.
func (s RunStatus) String() string {
	if s < 0 || int(s) >= len(runStatusNames) {
		return "unknown"
	}
	return runStatusNames[s]
}

// ParseRunStatus reads a status as String writes it.
func ParseRunStatus(name string) (RunStatus, bool) {
	for i, n := range runStatusNames {
		if n == name {
			return RunStatus(i), true
		}
	}
	return 0, false
}

// JobDetail is a run as OCP's JobDetail describes it.
type JobDetail struct {
	JobID      string        `json:"job_id"`
	Status     RunStatus     `json:"status"`
	Definition JobDefinition `json:"definition"`
	// Errors are the run's errors, one a line; "" if none.
	Errors       string     `json:"errors"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	CompletedAt  *time.Time `json:"completed_at,omitempty"`
	TerminatedAt *time.Time `json:"terminated_at,omitempty"`
}

// JobDefinition names the job of a run and the parameters it runs with.
type JobDefinition struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters,omitempty"`
}
