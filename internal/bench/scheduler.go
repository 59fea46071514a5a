package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// SchedulerOpts describe a measurement of the job runtime's own cost.
type SchedulerOpts struct {
	DB *store.DB
	// Performs is how many Performs one run of a job that does nothing
	// else makes. Default 10,000.
	Performs int
	// Runs is how many one-perform runs are triggered one after another.
	// Default 200.
	Runs int
}

// SchedulerReport is what the job runtime costs.
type SchedulerReport struct {
	Dialect  string
	Performs int
	// PerPerform is the runtime's time per Perform: calling it, checking
	// and storing the checkpoint, renewing the lease.
	PerPerform time.Duration
	Runs       int
	// PerRun is the time from trigger to completion of a one-perform run:
	// inserting it, claiming it, Prepare, the checkpoints, finishing it.
	PerRun time.Duration
}

func (r *SchedulerReport) String() string {
	return fmt.Sprintf("job runtime on %s: %.3f ms per perform (%d performs of one run, checkpoint written after each; %.0f performs/s)\n"+
		"trigger to completion of a one-perform run: %.1f ms (%d runs one after another)",
		r.Dialect, ms(r.PerPerform), r.Performs, float64(time.Second)/float64(r.PerPerform), ms(r.PerRun), r.Runs)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// noop counts to params.n, one Perform each, with a state like a real
// job's (a cursor and a counter).
type noop struct{ n int }

type noopParams struct {
	N int `json:"n"`
}

type noopState struct {
	I      int    `json:"i"`
	Cursor string `json:"cursor"`
	Rows   int    `json:"rows"`
}

func (j *noop) Prepare(ctx context.Context, inv *job.Invocation, p noopParams, st *noopState, resuming bool) (bool, error) {
	j.n = p.N
	*st = noopState{Cursor: "file-000000.ndjson"}
	return false, nil
}

func (j *noop) Perform(ctx context.Context, st *noopState) (bool, error) {
	st.I++
	st.Cursor, st.Rows = fmt.Sprintf("file-%06d.ndjson", st.I), st.I*1000
	return st.I >= j.n, nil
}

// Scheduler measures the runtime's overhead per Perform and per run.
func Scheduler(ctx context.Context, o SchedulerOpts) (*SchedulerReport, error) {
	if o.Performs <= 0 {
		o.Performs = 10_000
	}
	if o.Runs <= 0 {
		o.Runs = 200
	}
	r := jobrunner.New(o.DB, jobrunner.Options{
		Poll:    time.Millisecond,
		Builtin: []job.Info{job.Typed[noopParams, noopState]("bench_noop", "", func() *noop { return new(noop) })},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	rep := &SchedulerReport{Dialect: o.DB.Dialect(), Performs: o.Performs, Runs: o.Runs}
	run, err := r.Trigger(ctx, "bench_noop", map[string]any{"n": o.Performs}, "bench")
	if err != nil {
		return nil, err
	}
	if run, err = r.Wait(ctx, run.ID); err != nil {
		return nil, err
	}
	if run.Status != store.RunComplete || run.StartedAt == nil {
		return nil, fmt.Errorf("bench run ended %s: %v", run.Status, run.Errors)
	}
	rep.PerPerform = run.CompletedAt.Sub(*run.StartedAt) / time.Duration(o.Performs)

	start := time.Now()
	for range o.Runs {
		run, err := r.Trigger(ctx, "bench_noop", map[string]any{"n": 1}, "bench")
		if err != nil {
			return nil, err
		}
		if run, err = waitFast(ctx, o.DB, run.ID); err != nil {
			return nil, err
		}
		if run.Status != store.RunComplete {
			return nil, fmt.Errorf("bench run ended %s: %v", run.Status, run.Errors)
		}
	}
	rep.PerRun = time.Since(start) / time.Duration(o.Runs)
	return rep, nil
}

// waitFast polls a run more often than Runner.Wait, whose 20 ms steps
// would dominate the time of a short run.
func waitFast(ctx context.Context, db *store.DB, id string) (*store.JobRun, error) {
	for {
		run, err := db.JobRunGet(ctx, id)
		if err != nil || jobrunner.Finished(run.Status) {
			return run, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Microsecond):
		}
	}
}
