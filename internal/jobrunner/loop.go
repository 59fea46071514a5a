package jobrunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Run fires schedules and runs jobs until ctx ends, then waits for the
// runs it started to stop at their next checkpoint (they are resumed by
// the next runner).
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if r.opts.Exclusive {
		r.takeOver(ctx)
	}
	tick := time.NewTicker(r.opts.Poll)
	defer tick.Stop()
	var pruned time.Time
	for {
		r.fireSchedules(ctx)
		r.claimAll(ctx, &wg)
		if time.Since(pruned) > time.Hour {
			pruned = time.Now()
			if n, err := r.db.JobRunPrune(ctx, r.now().Add(-r.opts.Retention)); err != nil && ctx.Err() == nil {
				r.log.Error("jobs: prune old runs", "error", err)
			} else if n > 0 {
				r.log.Info("jobs: pruned old runs", "runs", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.wake:
		}
	}
}

// takeOver expires the leases of runs held by other workers: with an
// exclusive store their processes are gone.
func (r *Runner) takeOver(ctx context.Context) {
	runs, err := r.db.JobRunList(ctx, &store.JobRunListParams{Status: store.RunRunning, Limit: 1000})
	if err != nil {
		r.log.Error("jobs: look for interrupted runs", "error", err)
		return
	}
	for _, run := range runs {
		if run.Worker == nil || *run.Worker == r.opts.Worker {
			continue
		}
		if err := r.db.JobRunHeartbeat(ctx, run.ID, *run.Worker, r.now().Add(-time.Microsecond)); err != nil {
			r.log.Error("jobs: take over interrupted run", "run_id", run.ID, "error", err)
			continue
		}
		r.log.Info("jobs: resuming a run interrupted by a stop", "run_id", run.ID, "job", run.Job, "performs", run.Performs)
	}
}

// claimAll starts due runs while there is room.
func (r *Runner) claimAll(ctx context.Context, wg *sync.WaitGroup) {
	for ctx.Err() == nil {
		r.mu.Lock()
		busy := len(r.running)
		r.mu.Unlock()
		if busy >= r.opts.Concurrency {
			return
		}
		run, err := r.db.JobRunClaim(ctx, r.opts.Worker, r.now, r.opts.Lease)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("jobs: claim a run", "error", err)
			}
			return
		}
		r.mu.Lock()
		r.running[run.ID] = true
		r.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.execute(ctx, run)
			r.mu.Lock()
			delete(r.running, run.ID)
			r.mu.Unlock()
			r.Wake() // the job may have another run waiting
		}()
	}
}

// fireSchedules creates the runs of the cron ticks that are due.
func (r *Runner) fireSchedules(ctx context.Context) {
	last, err := r.db.JobScheduleList(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("jobs: read schedules", "error", err)
		}
		return
	}
	now := r.now()
	for _, s := range r.Schedules() {
		if !s.Enabled || s.Cron == nil {
			continue
		}
		from, known := last[s.Job]
		if !known {
			// A new schedule starts from now: no catching up on ticks
			// from before it existed.
			if err := r.db.JobScheduleStart(ctx, s.Job, now); err != nil {
				r.log.Error("jobs: start schedule", "job", s.Job, "error", err)
			}
			continue
		}
		if err := r.fire(ctx, s, from, now); err != nil && ctx.Err() == nil {
			r.log.Error("jobs: fire schedule", "job", s.Job, "error", err)
		}
	}
}

// fire creates the run of the latest due tick of a schedule; ticks missed
// while no runner ran are skipped and logged, not run one after another.
func (r *Runner) fire(ctx context.Context, s Schedule, from, now time.Time) error {
	tick := s.Cron.Next(from)
	if tick.After(now) {
		return nil
	}
	missed := 0
	for next := s.Cron.Next(tick); !next.After(now); next = s.Cron.Next(next) {
		tick = next
		missed++
	}
	won, err := r.db.JobScheduleAdvance(ctx, s.Job, from, tick)
	if err != nil || !won {
		return err // another process fired it
	}
	if missed > 0 {
		r.log.Warn("jobs: ticks missed while no runner was up; running the latest", "job", s.Job, "missed", missed, "tick", tick)
	}
	active, err := r.db.JobRunActive(ctx, s.Job)
	if err != nil {
		return err
	}
	if len(active) > 0 {
		r.log.Info("jobs: tick skipped, a run of the job is still active", "job", s.Job, "tick", tick)
		return nil
	}
	p, err := json.Marshal(merge(s.Parameters, nil))
	if err != nil {
		return fmt.Errorf("parameters of %s: %w", s.Job, err)
	}
	_, err = r.insert(ctx, s, p, "schedule", tick, store.RunScheduled)
	return err
}
