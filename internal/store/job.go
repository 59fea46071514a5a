package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Run statuses, as in OCP's JobRunStatus.
const (
	RunPending    = "pending"
	RunScheduled  = "scheduled"
	RunRunning    = "running"
	RunComplete   = "complete"
	RunError      = "error"
	RunTerminated = "terminated"
)

// ErrLeaseLost is a write by a worker that no longer holds the run: its
// lease expired and another worker took it over, or it was finished.
var ErrLeaseLost = errors.New("the run is no longer held by this worker")

// JobRun is one run of a job.
type JobRun struct {
	ID   string `json:"id"`
	Job  string `json:"job"`
	Kind string `json:"kind"`
	// Params are the parameters the run was invoked with (JSON object).
	Params  json.RawMessage `json:"params"`
	Status  string          `json:"status"`
	Trigger string          `json:"trigger"`
	// Checkpoint is the Status after the last Prepare or Perform.
	Checkpoint json.RawMessage `json:"checkpoint"`
	Performs   int64           `json:"performs"`
	Attempts   int             `json:"attempts"`
	Errors     []string        `json:"errors"`

	ScheduledAt    time.Time  `json:"scheduled_at"`
	RunAfter       time.Time  `json:"-"`
	CreatedAt      time.Time  `json:"created_at"`
	StartedAt      *time.Time `json:"started_at"`
	CompletedAt    *time.Time `json:"completed_at"`
	StateChangedAt *time.Time `json:"state_changed_at"`

	Worker             *string    `json:"worker"`
	LeaseUntil         *time.Time `json:"lease_until"`
	TerminateRequested *string    `json:"terminate_requested,omitempty"`
}

func scanJobRun(sc interface{ Scan(...any) error }) (*JobRun, error) {
	var r JobRun
	var params, errs string
	var checkpoint *string
	err := sc.Scan(&r.ID, &r.Job, &r.Kind, &params, &r.Status, &r.Trigger, &checkpoint, &r.Performs, &r.Attempts, &errs,
		&r.ScheduledAt, &r.RunAfter, &r.CreatedAt, &r.StartedAt, &r.CompletedAt, &r.StateChangedAt,
		&r.Worker, &r.LeaseUntil, &r.TerminateRequested)
	if err != nil {
		return nil, err
	}
	r.Params = json.RawMessage(params)
	if checkpoint != nil {
		r.Checkpoint = json.RawMessage(*checkpoint)
	}
	if err := json.Unmarshal([]byte(errs), &r.Errors); err != nil {
		return nil, fmt.Errorf("run %s errors: %w", r.ID, err)
	}
	for _, t := range []*time.Time{&r.ScheduledAt, &r.RunAfter, &r.CreatedAt, r.StartedAt, r.CompletedAt, r.StateChangedAt, r.LeaseUntil} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return &r, nil
}

// JobRunInsert stores a new run (ID, Job, Kind, Params, Status, Trigger,
// ScheduledAt, RunAfter, CreatedAt).
func (db *DB) JobRunInsert(ctx context.Context, r *JobRun) error {
	_, err := db.sql.ExecContext(ctx, db.q.get("JobRunInsert"), r.ID, r.Job, r.Kind, string(r.Params), r.Status, r.Trigger,
		r.ScheduledAt, r.RunAfter, r.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert run of %s: %w", r.Job, err)
	}
	return nil
}

// JobRunGet reads a run.
func (db *DB) JobRunGet(ctx context.Context, id string) (*JobRun, error) {
	r, err := scanJobRun(db.sql.QueryRowContext(ctx, db.q.get("JobRunGet"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return r, err
}

// JobRunListParams filter a list of runs; empty strings and zero times
// match all.
type JobRunListParams struct {
	Job    string
	Status string
	// Since and Until bound the runs' creation: Since <= created < Until.
	Since, Until time.Time
	Limit        int
}

// JobRunList lists runs, newest first.
func (db *DB) JobRunList(ctx context.Context, p *JobRunListParams) ([]*JobRun, error) {
	since, until := timeRange(p.Since, p.Until)
	return db.jobRuns(ctx, "JobRunList", p.Job, p.Status, since, until, p.Limit)
}

// JobRunActive returns the ids of the runs of a job that wait or run.
func (db *DB) JobRunActive(ctx context.Context, job string) (map[string]string, error) {
	out := map[string]string{}
	err := db.each(ctx, "JobRunActive", func(rows *sql.Rows) error {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			return err
		}
		out[id] = status
		return nil
	}, job)
	return out, err
}

// JobRunClaim takes the next run that is due (or whose worker died) for
// worker, for lease. It returns ErrNotFound when there is none. The start
// is read from the clock after the run was found: a run of the same job
// finished by a commit the claim saw ended before the claimed one starts.
func (db *DB) JobRunClaim(ctx context.Context, worker string, clock func() time.Time, lease time.Duration) (*JobRun, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, db.q.get("JobClaimLock")); err != nil {
		return nil, fmt.Errorf("lock runs: %w", err)
	}
	var id string
	err = tx.QueryRowContext(ctx, db.q.get("JobRunClaimNext"), clock()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find a due run: %w", err)
	}
	// Read after the query (whose snapshot may be its own, on PostgreSQL).
	now := clock()
	leaseUntil := now.Add(lease)
	if _, err := tx.ExecContext(ctx, db.q.get("JobRunClaim"), id, worker, leaseUntil, now); err != nil {
		return nil, fmt.Errorf("claim run %s: %w", id, err)
	}
	r, err := scanJobRun(tx.QueryRowContext(ctx, db.q.get("JobRunGet"), id))
	if err != nil {
		return nil, err
	}
	return r, tx.Commit()
}

// JobRunCheckpoint stores the status after a Prepare (performs 0) or a
// Perform (performs 1) and extends the lease.
func (db *DB) JobRunCheckpoint(ctx context.Context, id, worker string, checkpoint []byte, performs int, stateChanged bool, now, leaseUntil time.Time) error {
	return db.held(ctx, "JobRunCheckpoint", id, worker, string(checkpoint), performs, stateChanged, now, leaseUntil)
}

// JobRunHeartbeat extends the lease of a run held by worker.
func (db *DB) JobRunHeartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) error {
	return db.held(ctx, "JobRunHeartbeat", id, worker, leaseUntil)
}

// JobRunControl returns why a run was asked to terminate (nil if not) and
// when its state last changed.
func (db *DB) JobRunControl(ctx context.Context, id, worker string) (*string, time.Time, error) {
	var reason *string
	var changed time.Time
	err := db.sql.QueryRowContext(ctx, db.q.get("JobRunControl"), id, worker).Scan(&reason, &changed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, changed, ErrLeaseLost
	}
	return reason, changed, err
}

// JobRunFinish ends a run held by worker with status and its errors.
func (db *DB) JobRunFinish(ctx context.Context, id, worker, status string, errs []string, now time.Time) error {
	return db.held(ctx, "JobRunFinish", id, worker, status, errorsJSON(errs), now)
}

// JobRunRetry puts a failed run back to pending, to be claimed after
// runAfter.
func (db *DB) JobRunRetry(ctx context.Context, id, worker string, errs []string, runAfter time.Time) error {
	return db.held(ctx, "JobRunRetry", id, worker, errorsJSON(errs), runAfter)
}

// JobRunTerminate ends a waiting run at once, or asks the worker of a
// running one to stop. It returns the run as it is afterwards.
func (db *DB) JobRunTerminate(ctx context.Context, id, reason string, now time.Time) (*JobRun, error) {
	if _, err := db.sql.ExecContext(ctx, db.q.get("JobRunTerminateWaiting"), id, reason, now); err != nil {
		return nil, fmt.Errorf("terminate run %s: %w", id, err)
	}
	if _, err := db.sql.ExecContext(ctx, db.q.get("JobRunTerminateRunning"), id, reason); err != nil {
		return nil, fmt.Errorf("terminate run %s: %w", id, err)
	}
	return db.JobRunGet(ctx, id)
}

// JobRunPrune deletes runs that ended before the time, and their logs.
func (db *DB) JobRunPrune(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, db.q.get("JobRunPrune"), before)
	if err != nil {
		return 0, fmt.Errorf("prune runs: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		if _, err := db.sql.ExecContext(ctx, db.q.get("JobLogPrune")); err != nil {
			return n, fmt.Errorf("prune run logs: %w", err)
		}
	}
	return n, nil
}

// held runs an update that applies only while worker holds the run.
func (db *DB) held(ctx context.Context, name, id, worker string, args ...any) error {
	res, err := db.sql.ExecContext(ctx, db.q.get(name), append([]any{id, worker}, args...)...)
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("run %s: %w", id, ErrLeaseLost)
	}
	return nil
}

func errorsJSON(errs []string) string {
	if errs == nil {
		errs = []string{}
	}
	b, _ := json.Marshal(errs)
	return string(b)
}

// JobLog is a line a run logged.
type JobLog struct {
	ID      int64           `json:"id"`
	At      time.Time       `json:"at"`
	Level   string          `json:"level"`
	Message string          `json:"message"`
	Fields  json.RawMessage `json:"fields"`
}

// JobLogInsert stores a line of a run's log.
func (db *DB) JobLogInsert(ctx context.Context, runID string, l *JobLog) error {
	fields := string(l.Fields)
	if fields == "" {
		fields = "{}"
	}
	_, err := db.sql.ExecContext(ctx, db.q.get("JobLogInsert"), runID, l.At, l.Level, l.Message, fields)
	return err
}

// LogLevels orders the levels of run logs.
var LogLevels = []string{"debug", "info", "warn", "error"}

// JobLogList reads a run's log lines after a line id, at minLevel (an
// index into LogLevels) or above.
func (db *DB) JobLogList(ctx context.Context, runID string, afterID int64, minLevel, limit int) ([]JobLog, error) {
	return db.JobLogSearch(ctx, &JobLogSearchParams{RunID: runID, AfterID: afterID, MinLevel: minLevel, Limit: limit})
}

// JobScheduleList returns the last tick each scheduled job fired for.
func (db *DB) JobScheduleList(ctx context.Context) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := db.each(ctx, "JobScheduleList", func(rows *sql.Rows) error {
		var job string
		var t time.Time
		if err := rows.Scan(&job, &t); err != nil {
			return err
		}
		out[job] = t.UTC()
		return nil
	})
	return out, err
}

// JobScheduleStart records a schedule's first known tick unless it has one.
func (db *DB) JobScheduleStart(ctx context.Context, job string, tick time.Time) error {
	_, err := db.sql.ExecContext(ctx, db.q.get("JobScheduleStart"), job, tick)
	return err
}

// JobScheduleAdvance moves a schedule from the tick it was at to the next;
// false means another process moved it first.
func (db *DB) JobScheduleAdvance(ctx context.Context, job string, from, to time.Time) (bool, error) {
	res, err := db.sql.ExecContext(ctx, db.q.get("JobScheduleAdvance"), job, from, to)
	if err != nil {
		return false, fmt.Errorf("advance schedule of %s: %w", job, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Notification is an entry of the activity log.
type Notification struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Level    string    `json:"level"`
	Activity string    `json:"activity"`
	Title    string    `json:"title"`
	Summary  string    `json:"summary"`
	Details  string    `json:"details"`
	RunID    *string   `json:"run_id"`
	Job      *string   `json:"job"`
}

// NotificationInsert stores a notification.
func (db *DB) NotificationInsert(ctx context.Context, n *Notification) error {
	_, err := db.sql.ExecContext(ctx, db.q.get("NotificationInsert"), n.At, n.Level, n.Activity, n.Title, n.Summary, n.Details, n.RunID, n.Job)
	if err != nil {
		return fmt.Errorf("store notification: %w", err)
	}
	return nil
}

// NotificationList lists notifications, newest first, optionally of one
// level or job.
func (db *DB) NotificationList(ctx context.Context, level, job string, limit int) ([]Notification, error) {
	out := []Notification{}
	err := db.each(ctx, "NotificationList", func(rows *sql.Rows) error {
		var n Notification
		if err := rows.Scan(&n.ID, &n.At, &n.Level, &n.Activity, &n.Title, &n.Summary, &n.Details, &n.RunID, &n.Job); err != nil {
			return err
		}
		n.At = n.At.UTC()
		out = append(out, n)
		return nil
	}, level, job, limit)
	return out, err
}
