package jobrunner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/quartz"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// Defaults of Options.
const (
	LeaseDefault       = 30 * time.Second
	RetryDelayDefault  = 5 * time.Second
	StallAfterDefault  = 6 * time.Hour
	PollDefault        = time.Second
	RetentionDefault   = 7 * 24 * time.Hour
	ConcurrencyDefault = 4
	// PerformTimeoutDefault is OCP's limit on one Perform.
	PerformTimeoutDefault  = 60 * time.Second
	PerformOverrunsDefault = 3
)

// Options tune a Runner; zero values take the defaults.
type Options struct {
	// Worker names this process in the runs it holds (default host-pid).
	Worker string
	// Lease is how long a run stays held without a heartbeat; a worker
	// renews it every third of it. A run whose lease expired is resumed
	// by another worker.
	Lease time.Duration
	// RetryDelay is the pause before a failed run's second attempt.
	RetryDelay time.Duration
	// StallAfter terminates a run whose state has not changed for so long.
	StallAfter time.Duration
	// Poll is how often due runs and cron ticks are looked for when
	// nothing wakes the runner.
	Poll time.Duration
	// Retention is how long finished runs and their logs are kept.
	Retention time.Duration
	// Concurrency is how many runs (of different jobs) run at once.
	Concurrency int
	// PerformTimeout is the default deadline of one Perform of the jobs
	// of package job's registry (job.Info.PerformTimeout and weft.yaml
	// override it); a Perform past it is cancelled and the run resumes
	// from its last checkpoint. Negative: none.
	PerformTimeout time.Duration
	// PerformOverruns is how many Performs in a row may overrun their
	// deadline before the run ends terminated.
	PerformOverruns int
	// Exclusive says this process alone uses the database (DuckDB), so a
	// run held by another worker name belonged to a process that is gone
	// and can be resumed at start without waiting for its lease.
	Exclusive bool
	// Builtin are jobs bound to this process (stitching, attributes);
	// they take precedence over the registry of package job.
	Builtin []job.Info
	// Env supplies the stores and writers shared by every run; the runner
	// adds the per-run Log and Notify.
	Env job.Env
	Now func() time.Time
	Log *slog.Logger

	// JobKV, when set, is the Env.KV of a job's runs, by the job's
	// (declared) name: each job's own records.
	JobKV func(job string) job.KV
}

// Schedule is a job as declared in weft.yaml (or built in).
type Schedule struct {
	// Job is the name runs are listed and triggered by.
	Job string
	// Kind is the registered job that runs it.
	Kind       string
	Cron       *quartz.Schedule // nil: triggered only
	Parameters map[string]any
	Enabled    bool
	// Disabled says why a declared job cannot run at all (its kind is not
	// built into this binary); Enabled is then false and triggers are
	// refused with ErrJobDisabled.
	Disabled string
	// PerformTimeout, when not 0, is the deadline of one Perform of the
	// job (weft.yaml's perform_timeout), negative for none.
	PerformTimeout time.Duration
}

// Runner runs jobs.
type Runner struct {
	db   *store.DB
	opts Options
	log  *slog.Logger
	wake chan struct{}

	mu        sync.Mutex
	schedules map[string]Schedule
	running   map[string]bool // jobs this process runs now
}

// New returns a Runner over db.
func New(db *store.DB, opts Options) *Runner {
	if opts.Worker == "" {
		host, _ := os.Hostname()
		opts.Worker = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(3))
	}
	opts.Lease = orDefault(opts.Lease, LeaseDefault)
	opts.RetryDelay = orDefault(opts.RetryDelay, RetryDelayDefault)
	opts.StallAfter = orDefault(opts.StallAfter, StallAfterDefault)
	opts.Poll = orDefault(opts.Poll, PollDefault)
	opts.Retention = orDefault(opts.Retention, RetentionDefault)
	if opts.Concurrency <= 0 {
		opts.Concurrency = ConcurrencyDefault
	}
	if opts.PerformTimeout == 0 {
		opts.PerformTimeout = PerformTimeoutDefault
	}
	if opts.PerformOverruns <= 0 {
		opts.PerformOverruns = PerformOverrunsDefault
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Runner{db: db, opts: opts, log: opts.Log, wake: make(chan struct{}, 1),
		schedules: map[string]Schedule{}, running: map[string]bool{}}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRunID is a random UUID (version 4) as OCP's job ids are.
func newRunID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (r *Runner) now() time.Time { return r.opts.Now().UTC().Truncate(time.Microsecond) }

// SetSchedules replaces the declared jobs (on start and on every applied
// config).
func (r *Runner) SetSchedules(list []Schedule) {
	m := make(map[string]Schedule, len(list))
	for _, s := range list {
		m[s.Job] = s
	}
	r.mu.Lock()
	r.schedules = m
	r.mu.Unlock()
	r.Wake()
}

// Schedules lists the declared jobs by name.
func (r *Runner) Schedules() []Schedule {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Schedule, 0, len(r.schedules))
	for _, s := range r.schedules {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Job < out[j].Job })
	return out
}

// Wake makes the runner look for work now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Lookup finds the code of a kind of job: built in, or registered.
func (r *Runner) Lookup(kind string) (job.Info, bool) {
	for _, info := range r.opts.Builtin {
		if info.Name == kind {
			return info, true
		}
	}
	return job.Lookup(kind)
}

// Kinds lists the jobs this runner can run: built in, then registered.
func (r *Runner) Kinds() []job.Info {
	out := append([]job.Info{}, r.opts.Builtin...)
	builtin := map[string]bool{}
	for _, info := range r.opts.Builtin {
		builtin[info.Name] = true
	}
	for _, info := range job.Registered() {
		if !builtin[info.Name] {
			out = append(out, info)
		}
	}
	return out
}

// ErrUnknownJob is a trigger of a job that is neither declared nor
// registered.
var ErrUnknownJob = job.ErrUnknownJob

// ErrJobDisabled is a trigger of a declared job that cannot run
// (Schedule.Disabled).
var ErrJobDisabled = errors.New("job disabled")

// ParamsError is a trigger whose parameters the job refuses.
type ParamsError struct {
	Job string
	Err error
}

func (e *ParamsError) Error() string { return fmt.Sprintf("job %s: %v", e.Job, e.Err) }
func (e *ParamsError) Unwrap() error { return e.Err }

// Trigger creates a run of a job now. name is a declared job (whose
// parameters params override) or a registered kind. The run waits if
// another run of the job is active.
func (r *Runner) Trigger(ctx context.Context, name string, params map[string]any, trigger string) (*store.JobRun, error) {
	r.mu.Lock()
	s, declared := r.schedules[name]
	r.mu.Unlock()
	if !declared {
		if _, ok := r.Lookup(name); !ok {
			return nil, fmt.Errorf("%w %q: declare it under jobs: in weft.yaml or register it (known: %s)", ErrUnknownJob, name, r.KindNames())
		}
		s = Schedule{Job: name, Kind: name}
	}
	if s.Disabled != "" {
		return nil, fmt.Errorf("%w: %s: %s", ErrJobDisabled, name, s.Disabled)
	}
	p, err := json.Marshal(merge(s.Parameters, params))
	if err != nil {
		return nil, &ParamsError{Job: name, Err: err}
	}
	info, _ := r.Lookup(s.Kind)
	if err := info.ValidateParams(job.WithEnv(ctx, &r.opts.Env), p); err != nil {
		return nil, &ParamsError{Job: name, Err: err}
	}
	run, err := r.insert(ctx, s, p, trigger, r.now(), store.RunPending)
	if err == nil {
		r.Wake()
	}
	return run, err
}

// Ensure triggers a run of a job unless one is already waiting: what
// arriving events and finished stitching passes do, however often.
func (r *Runner) Ensure(ctx context.Context, name, trigger string) error {
	active, err := r.db.JobRunActive(ctx, name)
	if err != nil {
		return err
	}
	for _, status := range active {
		if status != store.RunRunning {
			return nil
		}
	}
	_, err = r.Trigger(ctx, name, nil, trigger)
	return err
}

// KindNames lists the kinds for messages.
func (r *Runner) KindNames() string {
	var names []byte
	for i, info := range r.Kinds() {
		if i > 0 {
			names = append(names, ", "...)
		}
		names = append(names, info.Name...)
	}
	return string(names)
}

func merge(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

func (r *Runner) insert(ctx context.Context, s Schedule, p json.RawMessage, trigger string, at time.Time, status string) (*store.JobRun, error) {
	now := r.now()
	run := &store.JobRun{ID: newRunID(), Job: s.Job, Kind: s.Kind, Params: p, Status: status, Trigger: trigger,
		ScheduledAt: at, RunAfter: now, CreatedAt: now, Errors: []string{}}
	if err := r.db.JobRunInsert(ctx, run); err != nil {
		return nil, err
	}
	return run, nil
}

// Terminate stops a run: at once if it waits, at its next checkpoint (or
// by cancelling its context) if it runs.
func (r *Runner) Terminate(ctx context.Context, id string) (*store.JobRun, error) {
	run, err := r.db.JobRunTerminate(ctx, id, "terminated by request", r.now())
	if err == nil {
		r.Wake()
	}
	return run, err
}

// Wait polls a run until it ends or ctx does.
func (r *Runner) Wait(ctx context.Context, id string) (*store.JobRun, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		run, err := r.db.JobRunGet(ctx, id)
		if err != nil {
			return nil, err
		}
		if Finished(run.Status) {
			return run, nil
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-tick.C:
		}
	}
}

// Finished says whether a status is final.
func Finished(status string) bool {
	return status == store.RunComplete || status == store.RunError || status == store.RunTerminated
}
