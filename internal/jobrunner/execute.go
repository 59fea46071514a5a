package jobrunner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// attempt is one worker's hold on a run.
type attempt struct {
	r   *Runner
	run *store.JobRun

	// writeMu serializes this attempt's writes to its row: DuckDB fails
	// concurrent updates of one row instead of queueing them.
	writeMu sync.Mutex
	// stopWhy says why the attempt's context was cancelled by the
	// watcher (terminate or stall); empty if it was not.
	stopMu  sync.Mutex
	stopWhy string
	// last is the checkpoint stored last: what a new instance resumes
	// from after a Perform overran its deadline.
	last *job.Status
}

// execute drives a claimed run to its end, a retry, or a stop.
func (r *Runner) execute(parent context.Context, run *store.JobRun) {
	a := &attempt{r: r, run: run}
	log := r.log.With("run_id", run.ID, "job", run.Job)
	if run.TerminateRequested != nil {
		a.finish(parent, store.RunTerminated, *run.TerminateRequested)
		return
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		a.watch(ctx, cancel)
	}()
	err := a.drive(ctx)
	cancel(nil)
	<-watchDone

	switch {
	case errors.Is(err, store.ErrLeaseLost):
		log.Warn("jobs: lost the run to another worker (its lease expired)")
	case a.why() != "":
		a.finish(parent, store.RunTerminated, a.why())
	case err == nil:
		a.finish(parent, store.RunComplete, "")
	case parent.Err() != nil:
		// Shutting down: release the run so that the next runner resumes
		// it from its checkpoint at once.
		_ = a.write(context.Background(), func(ctx context.Context) error {
			return r.db.JobRunHeartbeat(ctx, run.ID, r.opts.Worker, r.now().Add(-time.Microsecond))
		})
		log.Info("jobs: run interrupted by shutdown; it resumes on the next start")
	default:
		a.fail(parent, err)
	}
}

// drive calls Prepare and Perform, storing each checkpoint. A Perform
// that overruns its deadline costs the job instance: a new one resumes
// from the last checkpoint, until Options.PerformOverruns in a row end
// the run.
func (a *attempt) drive(ctx context.Context) error {
	r, run := a.r, a.run
	info, ok := r.Lookup(run.Kind)
	if !ok {
		return fmt.Errorf("no job named %q is built into this weft binary", run.Kind)
	}
	params := json.RawMessage(run.Params)
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	env := r.opts.Env
	env.Log = r.runLogger(run)
	env.Notify = &notifier{r: r, run: run}
	if r.opts.JobKV != nil {
		env.KV = r.opts.JobKV(run.Job)
	}
	env.Jobs = &control{r: r, parent: run}
	inv := &job.Invocation{RunID: run.ID, Job: run.Job, ScheduledAt: run.ScheduledAt, Parameters: params, Attempt: run.Attempts, Trigger: run.Trigger, Env: &env}

	if run.Checkpoint != nil {
		a.last = &job.Status{}
		if err := json.Unmarshal(run.Checkpoint, a.last); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	limit := r.performTimeout(run, info)
	for overruns := 0; ; {
		err := a.incarnation(ctx, info, inv, limit)
		if !errors.Is(err, errOverrun) {
			return err
		}
		overruns++
		if overruns >= r.opts.PerformOverruns {
			env.Log.Error("jobs: the run is terminated: its Perform overran its deadline too often", "perform_timeout", limit, "in_a_row", overruns)
			a.stop(fmt.Sprintf("perform %d exceeded its deadline of %s %d times in a row", a.run.Performs+1, limit, overruns), nil)
			return err
		}
		env.Log.Warn("jobs: a Perform ran past its deadline and was cancelled; the run resumes from its last checkpoint",
			"perform", a.run.Performs+1, "perform_timeout", limit, "in_a_row", overruns, "of", r.opts.PerformOverruns)
	}
}

// incarnation runs one instance of the job: Prepare (resuming from the
// last checkpoint if there is one), then Performs until one completes.
func (a *attempt) incarnation(ctx context.Context, info job.Info, inv *job.Invocation, limit time.Duration) (err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	j := info.New()
	abandoned := false
	// However the instance ends, it is done: closed now, or when the
	// Perform it was abandoned in returns.
	defer func() {
		if !abandoned {
			closeJob(j, inv.Log)
		}
	}()
	last := a.last
	st, err := call(func() (*job.Status, error) { return j.Prepare(ctx, inv, last, last != nil) })
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	prev, err := a.checkpoint(ctx, st, 0, nil)
	if err != nil {
		return err
	}
	for !st.Complete {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		var next *job.Status
		next, abandoned, err = perform(ctx, cancel, j, st, limit, inv.Log)
		if err != nil {
			return fmt.Errorf("perform %d: %w", a.run.Performs+1, err)
		}
		if prev, err = a.checkpoint(ctx, next, 1, prev); err != nil {
			return err
		}
		a.run.Performs++
		st = next
	}
	return nil
}

// closeJob closes an instance that holds resources.
func closeJob(j job.Job, log *slog.Logger) {
	if c, ok := j.(job.Closer); ok {
		if err := c.Close(); err != nil {
			log.Error("jobs: close the job", "error", err)
		}
	}
}

// call runs a job method, turning a panic into an error and checking the
// status it returns.
func call(fn func() (*job.Status, error)) (st *job.Status, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	st, err = fn()
	if err == nil && st == nil {
		err = errors.New("returned no status")
	}
	return st, err
}

// checkpoint stores a status after Prepare (performs 0) or a Perform and
// returns its state as JSON, which tells the next checkpoint whether the
// state changed.
func (a *attempt) checkpoint(ctx context.Context, st *job.Status, performs int, prevState []byte) (_ []byte, err error) {
	state, err := storedState(st.State)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err == nil {
			a.last = &job.Status{State: state, Complete: st.Complete}
		}
	}()
	// The next Perform gets the state as stored, so that a fresh run sees
	// what a resumed one would.
	st.State = state
	// The checkpoint {"state":...,"complete":...} around the state just
	// compacted, without re-encoding it.
	body := append(append([]byte(`{"state":`), state...), `,"complete":`+strconv.FormatBool(st.Complete)+`}`...)
	changed := prevState == nil || !bytes.Equal(prevState, state)
	now := a.r.now()
	err = a.write(ctx, func(ctx context.Context) error {
		return a.r.db.JobRunCheckpoint(ctx, a.run.ID, a.r.opts.Worker, body, performs, changed, now, now.Add(a.r.opts.Lease))
	})
	return state, err
}

// storedState is a state as a checkpoint stores it: compact JSON, {}
// when empty or null. Anything but an object is refused: every state is
// read back as one.
func storedState(state json.RawMessage) (json.RawMessage, error) {
	if t := bytes.TrimSpace(state); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return json.RawMessage("{}"), nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, state); err != nil {
		return nil, fmt.Errorf("the status cannot be stored as JSON: %w", err)
	}
	if b.Bytes()[0] != '{' {
		return nil, fmt.Errorf("the status cannot be stored as JSON: its state is %.20s, not an object", b.String())
	}
	return b.Bytes(), nil
}

// write runs one update of the run's row at a time.
func (a *attempt) write(ctx context.Context, fn func(context.Context) error) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	return fn(ctx)
}

// watch renews the lease and stops the run when it is terminated or
// stalls, until ctx ends.
func (a *attempt) watch(ctx context.Context, cancel context.CancelCauseFunc) {
	r := a.r
	every := r.opts.Lease / 3
	tick := time.NewTicker(min(every, time.Second))
	defer tick.Stop()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		reason, changed, err := r.db.JobRunControl(ctx, a.run.ID, r.opts.Worker)
		if errors.Is(err, store.ErrLeaseLost) {
			// Whatever the Perform does now is lost: stop it (work in
			// job.Interruptible at once), the new holder resumes the run.
			cancel(fmt.Errorf("%w: %w", job.ErrInterrupted, err))
			return
		}
		if err != nil {
			continue // a passing failure of the database: ask again
		}
		switch {
		case reason != nil:
			a.stop(*reason, cancel)
			return
		case r.now().Sub(changed) > r.opts.StallAfter:
			a.stop(fmt.Sprintf("stalled: the state has not changed since %s (stall timeout %s)", changed.Format(time.RFC3339), r.opts.StallAfter), cancel)
			return
		}
		if time.Since(renewed) >= every {
			renewed = time.Now()
			_ = a.write(ctx, func(ctx context.Context) error {
				return r.db.JobRunHeartbeat(ctx, a.run.ID, r.opts.Worker, r.now().Add(r.opts.Lease))
			})
		}
	}
}

// stop ends the run as terminated for why, cancelling its context if
// cancel is not nil.
func (a *attempt) stop(why string, cancel context.CancelCauseFunc) {
	a.stopMu.Lock()
	a.stopWhy = why
	a.stopMu.Unlock()
	if cancel != nil {
		cancel(fmt.Errorf("%w: %s", job.ErrInterrupted, why))
	}
}

func (a *attempt) why() string {
	a.stopMu.Lock()
	defer a.stopMu.Unlock()
	return a.stopWhy
}

// fail retries a first attempt and ends a second one, or one that
// failed with job.Fail, in error.
func (a *attempt) fail(ctx context.Context, err error) {
	r, run := a.r, a.run
	errs := append(run.Errors, fmt.Sprintf("attempt %d: %v", run.Attempts, err))
	log := r.log.With("run_id", run.ID, "job", run.Job)
	var final *job.FailError
	if run.Attempts < 2 && !errors.As(err, &final) {
		log.Warn("jobs: run failed; retrying once", "in", r.opts.RetryDelay, "error", err)
		werr := a.write(ctx, func(ctx context.Context) error {
			return r.db.JobRunRetry(ctx, run.ID, r.opts.Worker, errs, r.now().Add(r.opts.RetryDelay))
		})
		if werr != nil {
			log.Error("jobs: record the failure", "error", werr)
		}
		return
	}
	log.Error("jobs: run failed", "attempt", run.Attempts, "error", err)
	run.Errors = errs
	a.finish(ctx, store.RunError, "")
}

// finish ends the run; why is added to its errors for a terminated run.
func (a *attempt) finish(ctx context.Context, status, why string) {
	r, run := a.r, a.run
	errs := run.Errors
	if why != "" {
		errs = append(errs, why)
	}
	err := a.write(ctx, func(ctx context.Context) error {
		return r.db.JobRunFinish(ctx, run.ID, r.opts.Worker, status, errs, r.now())
	})
	if err != nil {
		r.log.Error("jobs: record the end of a run", "run_id", run.ID, "status", status, "error", err)
		return
	}
	r.log.Debug("jobs: run ended", "run_id", run.ID, "job", run.Job, "status", status, "performs", run.Performs)
}
