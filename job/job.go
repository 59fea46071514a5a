package job

import (
	"context"
	"encoding/json"
	"time"
)

// Status is a job's checkpoint: its own State, a JSON object (NewStatus
// encodes one, StateOf decodes it), and whether the run is Complete.
type Status struct {
	State    json.RawMessage `json:"state"`
	Complete bool            `json:"complete"`
}

// Job is one kind of background work. The runtime calls Prepare once at
// the start of a run (and again when the run resumes after an
// interruption, with resuming true and the last stored Status), then
// Perform in a loop, passing each call the Status the previous one
// returned, until a returned Status is Complete. If Prepare returns a
// Complete Status, Perform is never called.
//
// The Status returned by each Perform is stored before the next call, and
// the next call gets it as stored (compacted JSON), whether the run was
// resumed or not. A Perform interrupted before it returns runs again from
// the Status it was given, so its side effects must be idempotent
// (upserts, not appends of the same rows).
//
// Most jobs need not implement Job by hand: a Worker with typed
// parameters and state becomes one through Typed.
//
// Every call of one attempt gets the same ctx, which ends when the
// attempt does (a terminate, a stall, a failure, a shutdown): work that
// one Perform starts may go on into the next ones, as long as a crash
// before it is recorded in a Status only means that it is done again.
type Job interface {
	Prepare(ctx context.Context, inv *Invocation, status *Status, resuming bool) (*Status, error)
	Perform(ctx context.Context, status *Status) (*Status, error)
}

// Invocation describes the run being prepared and carries the services
// the runtime provides to it.
type Invocation struct {
	// RunID stays the same when a failed run is retried.
	RunID string
	// Job is the registered name.
	Job string
	// ScheduledAt is the cron tick that started the run, or the time it
	// was triggered.
	ScheduledAt time.Time
	// Parameters are the job's declared parameters overridden by the
	// ones given to the trigger: a JSON object, never empty. ParamsOf
	// decodes them strictly; a Worker gets them decoded.
	Parameters json.RawMessage
	// Attempt counts from 1; a failed run is retried once as attempt 2.
	Attempt int
	// Trigger says what asked for the run: "schedule" for a cron tick,
	// "manual" for a person or a call, or the name of what else did.
	Trigger string
	*Env
}

// FailError ends a run in error at once: the runtime does not retry it.
// Return it (through Fail) for failures that a retry would only repeat,
// such as a plugin that reported an error.
type FailError struct{ Err error }

func (e *FailError) Error() string { return e.Err.Error() }
func (e *FailError) Unwrap() error { return e.Err }

// Fail wraps err so that the run ends in error without the retry.
func Fail(err error) error { return &FailError{Err: err} }
