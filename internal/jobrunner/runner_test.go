package jobrunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/quartz"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/job"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// counter is a test job: it counts to params.to, one step per Perform,
// failing or panicking at the steps it is told to, and records the calls.
type counter struct {
	calls *calls
	to    int
	inv   *job.Invocation
}

type countParams struct {
	To int `json:"to"`
}

type countState struct {
	N int `json:"n"`
}

type calls struct {
	mu       sync.Mutex
	prepares []string // "fresh", or "resume@n" with the checkpoint's n
	performs []int    // the n each Perform was given
	failAt   map[int]int
	panicAt  int
	hold     chan struct{} // when set, Perform waits on it
	closed   int           // instances closed
}

func (c *calls) log(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
}

func (c *calls) closes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (j *counter) Prepare(ctx context.Context, inv *job.Invocation, p countParams, st *countState, resuming bool) (bool, error) {
	j.inv = inv
	j.to = p.To
	if resuming {
		j.calls.log(func() { j.calls.prepares = append(j.calls.prepares, fmt.Sprintf("resume@%v", st.N)) })
		return false, nil
	}
	j.calls.log(func() { j.calls.prepares = append(j.calls.prepares, "fresh") })
	inv.Log.Info("preparing", "to", j.to)
	return j.to == 0, nil
}

func (j *counter) Perform(ctx context.Context, st *countState) (bool, error) {
	n := st.N
	var fail bool
	var hold chan struct{}
	j.calls.log(func() {
		j.calls.performs = append(j.calls.performs, n)
		if j.calls.failAt[n] > 0 {
			j.calls.failAt[n]--
			fail = true
		}
		hold = j.calls.hold
	})
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	if fail {
		return false, fmt.Errorf("step %d broke", n)
	}
	if n == j.calls.panicAt && n > 0 {
		panic("step panicked")
	}
	n++
	if n == j.to {
		if err := j.inv.Notify.Notify(ctx, job.Notification{Level: job.LevelSuccess, Activity: "Counting", Title: "Counted", Summary: fmt.Sprintf("counted to %d", n)}); err != nil {
			return false, err
		}
	}
	st.N = n
	return n == j.to, nil
}

// Close counts the instances the runtime closed.
func (j *counter) Close() error {
	j.calls.log(func() { j.calls.closed++ })
	return nil
}

type fixture struct {
	db    *store.DB
	calls *calls
	r     *Runner
}

func newFixture(t *testing.T, backend string, opts Options) *fixture {
	t.Helper()
	db := dbtest.Open(t, backend)
	c := &calls{failAt: map[int]int{}}
	opts.Builtin = append(opts.Builtin,
		job.Typed[countParams, countState]("count", "", func() *counter { return &counter{calls: c} }),
		job.Info{Name: "bad_state", New: func() job.Job { return badState{} }},
		job.Info{Name: "stuck", New: func() job.Job { return stuck{} }},
		job.Info{Name: "final", New: func() job.Job { return final{} }})
	if opts.Poll == 0 {
		opts.Poll = 10 * time.Millisecond
	}
	opts.RetryDelay = time.Millisecond
	if opts.Worker == "" {
		opts.Worker = "test"
	}
	return &fixture{db: db, calls: c, r: New(db, opts)}
}

// start runs the runner until the test ends.
func (f *fixture) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (f *fixture) runToEnd(t *testing.T, name string, params map[string]any) *store.JobRun {
	t.Helper()
	run, err := f.r.Trigger(context.Background(), name, params, "manual")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	run, err = f.r.Wait(ctx, run.ID)
	if err != nil {
		t.Fatalf("wait for run: %v (status %s)", err, run.Status)
	}
	return run
}

func TestRunLifecycle(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend, Options{})
			f.start(t)
			run := f.runToEnd(t, "count", map[string]any{"to": 3})
			if run.Status != store.RunComplete || run.Performs != 3 || run.Attempts != 1 || len(run.Errors) != 0 {
				t.Fatalf("run = %+v", run)
			}
			if got := fmt.Sprint(f.calls.prepares, f.calls.performs); got != "[fresh] [0 1 2]" {
				t.Fatalf("calls = %s", got)
			}
			if string(run.Checkpoint) != `{"state":{"n":3},"complete":true}` {
				t.Fatalf("checkpoint = %s", run.Checkpoint)
			}
			if run.StartedAt == nil || run.CompletedAt == nil || run.CompletedAt.Before(*run.StartedAt) {
				t.Fatalf("times: %v %v", run.StartedAt, run.CompletedAt)
			}
			logs, err := f.db.JobLogList(context.Background(), run.ID, 0, 0, 100)
			if err != nil || len(logs) != 1 || logs[0].Message != "preparing" || string(logs[0].Fields) != `{"to":3}` || logs[0].Level != "info" {
				t.Fatalf("logs = %+v, %v", logs, err)
			}
			notes, err := f.db.NotificationList(context.Background(), "", "", 10)
			if err != nil || len(notes) != 1 || notes[0].Summary != "counted to 3" || *notes[0].RunID != run.ID || notes[0].Details != "Counted\ncounted to 3" {
				t.Fatalf("notifications = %+v, %v", notes, err)
			}

			// Prepare saying complete means no Perform at all.
			run = f.runToEnd(t, "count", map[string]any{"to": 0})
			if run.Status != store.RunComplete || run.Performs != 0 || len(f.calls.performs) != 3 {
				t.Fatalf("run = %+v, performs %v", run, f.calls.performs)
			}
		})
	}
}

func TestRetryOnceThenError(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend, Options{})
			f.start(t)
			// Step 1 fails once: the retry resumes from the checkpoint
			// after step 0, with the same run id.
			f.calls.failAt[1] = 1
			run := f.runToEnd(t, "count", map[string]any{"to": 3})
			if run.Status != store.RunComplete || run.Attempts != 2 || len(run.Errors) != 1 || !strings.Contains(run.Errors[0], "attempt 1: perform 2: step 1 broke") {
				t.Fatalf("run = %+v", run)
			}
			if got := fmt.Sprint(f.calls.prepares, f.calls.performs); got != "[fresh resume@1] [0 1 1 2]" {
				t.Fatalf("calls = %s", got)
			}
			// A panic twice ends the run in error.
			f.calls.panicAt = 1
			run = f.runToEnd(t, "count", map[string]any{"to": 3})
			if run.Status != store.RunError || run.Attempts != 2 || len(run.Errors) != 2 || !strings.Contains(run.Errors[1], "attempt 2: perform 2: panic: step panicked") {
				t.Fatalf("run = %+v", run)
			}
		})
	}
}

// final fails with job.Fail: no retry.
type final struct{}

func (final) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, resuming bool) (*job.Status, error) {
	return &job.Status{}, nil
}
func (final) Perform(ctx context.Context, st *job.Status) (*job.Status, error) {
	return nil, job.Fail(errors.New("the plugin said no"))
}

func TestFailEndsWithoutRetry(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend, Options{})
			f.start(t)
			run := f.runToEnd(t, "final", nil)
			if run.Status != store.RunError || run.Attempts != 1 || len(run.Errors) != 1 || !strings.Contains(run.Errors[0], "attempt 1: perform 1: the plugin said no") {
				t.Fatalf("run = %+v", run)
			}
		})
	}
}

// badState returns a state that cannot be stored.
type badState struct{}

func (badState) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, resuming bool) (*job.Status, error) {
	return &job.Status{State: json.RawMessage(`{"ratio": NaN}`)}, nil
}
func (badState) Perform(ctx context.Context, st *job.Status) (*job.Status, error) { return st, nil }

// stuck never changes its state.
type stuck struct{}

func (stuck) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, resuming bool) (*job.Status, error) {
	return &job.Status{State: json.RawMessage(`{"waiting": true}`)}, nil
}
func (stuck) Perform(ctx context.Context, st *job.Status) (*job.Status, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(20 * time.Millisecond):
	}
	return st, nil
}

func TestBadStateAndStall(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend, Options{StallAfter: 300 * time.Millisecond, Lease: 300 * time.Millisecond})
			f.start(t)
			run := f.runToEnd(t, "bad_state", nil)
			if run.Status != store.RunError || len(run.Errors) != 2 || !strings.Contains(run.Errors[0], "cannot be stored as JSON") {
				t.Fatalf("run = %+v", run)
			}
			run = f.runToEnd(t, "stuck", nil)
			if run.Status != store.RunTerminated || !strings.Contains(run.Errors[len(run.Errors)-1], "stalled: the state has not changed since") {
				t.Fatalf("run = %+v", run)
			}
		})
	}
}

func TestTerminateAndNoOverlap(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend, Options{})
			f.calls.hold = make(chan struct{})
			f.start(t)
			first, err := f.r.Trigger(ctx, "count", map[string]any{"to": 2}, "manual")
			if err != nil {
				t.Fatal(err)
			}
			second, err := f.r.Trigger(ctx, "count", map[string]any{"to": 1}, "manual")
			if err != nil {
				t.Fatal(err)
			}
			third, err := f.r.Trigger(ctx, "count", map[string]any{"to": 1}, "manual")
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { r, _ := f.db.JobRunGet(ctx, first.ID); return r.Status == store.RunRunning })
			time.Sleep(100 * time.Millisecond) // room for a wrong second claim
			if r, _ := f.db.JobRunGet(ctx, second.ID); r.Status != store.RunPending {
				t.Fatalf("second run of the same job is %s while the first runs", r.Status)
			}
			// Terminating a waiting run ends it at once; a running one at
			// its next checkpoint (here: its Perform's context ends).
			if r, err := f.r.Terminate(ctx, third.ID); err != nil || r.Status != store.RunTerminated {
				t.Fatalf("terminate waiting: %+v %v", r, err)
			}
			if _, err := f.r.Terminate(ctx, first.ID); err != nil {
				t.Fatal(err)
			}
			r, err := f.r.Wait(ctx, first.ID)
			if err != nil || r.Status != store.RunTerminated || r.Errors[len(r.Errors)-1] != "terminated by request" {
				t.Fatalf("first = %+v %v", r, err)
			}
			close(f.calls.hold)
			r, err = f.r.Wait(ctx, second.ID)
			if err != nil || r.Status != store.RunComplete || r.StartedAt.Before(*mustGet(t, f.db, first.ID).CompletedAt) {
				t.Fatalf("second = %+v %v\nfirst = %+v", r, err, mustGet(t, f.db, first.ID))
			}
			if _, err := f.r.Trigger(ctx, "nope", nil, "manual"); !errors.Is(err, ErrUnknownJob) || !strings.Contains(err.Error(), "count") {
				t.Fatalf("unknown job: %v", err)
			}
		})
	}
}

func TestResumeAfterWorkerDied(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend, Options{Lease: 200 * time.Millisecond, StallAfter: time.Hour})
			// A worker that claimed the run, stored the checkpoint after
			// two steps two hours ago, and died; the run is not stalled:
			// its stall clock restarts when it is taken over.
			run, err := f.r.Trigger(ctx, "count", map[string]any{"to": 4}, "manual")
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			if _, err := f.db.JobRunClaim(ctx, "dead", time.Now, 100*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if err := f.db.JobRunCheckpoint(ctx, run.ID, "dead", []byte(`{"state":{"n":2},"complete":false}`), 2, true, now.Add(-2*time.Hour), now.Add(100*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			f.start(t)
			r, err := f.r.Wait(ctx, run.ID)
			if err != nil || r.Status != store.RunComplete || r.Attempts != 1 || r.Performs != 4 || *r.Worker != "test" {
				t.Fatalf("run = %+v %v", r, err)
			}
			if got := fmt.Sprint(f.calls.prepares, f.calls.performs); got != "[resume@2] [2 3]" {
				t.Fatalf("calls = %s", got)
			}
		})
	}
}

func TestSchedules(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			clock := time.Date(2026, 11, 23, 5, 59, 0, 0, time.UTC)
			var mu sync.Mutex
			now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			set := func(t time.Time) { mu.Lock(); clock = t; mu.Unlock() }
			f := newFixture(t, backend, Options{Now: now})
			cron, err := quartz.Parse("0 0 6 * * ?")
			if err != nil {
				t.Fatal(err)
			}
			f.r.SetSchedules([]Schedule{{Job: "daily", Kind: "count", Cron: cron, Parameters: map[string]any{"to": 1.0}, Enabled: true}})
			list := func() []*store.JobRun {
				runs, err := f.db.JobRunList(ctx, &store.JobRunListParams{Job: "daily", Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				return runs
			}
			f.r.fireSchedules(ctx) // the schedule starts now: no run
			set(clock.Add(30 * time.Second))
			f.r.fireSchedules(ctx)
			if n := len(list()); n != 0 {
				t.Fatalf("%d runs before 06:00", n)
			}
			set(time.Date(2026, 11, 23, 6, 0, 1, 0, time.UTC))
			f.r.fireSchedules(ctx)
			f.r.fireSchedules(ctx) // the same tick fires once
			runs := list()
			if len(runs) != 1 || runs[0].Status != store.RunScheduled || runs[0].ScheduledAt.Format(time.RFC3339) != "2026-11-23T06:00:00Z" || runs[0].Trigger != "schedule" || string(runs[0].Params) != `{"to":1}` {
				t.Fatalf("runs = %+v", runs)
			}
			// Three days later the run never ran: the latest tick is due
			// but skipped, the job's run is still active.
			set(time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC))
			f.r.fireSchedules(ctx)
			if n := len(list()); n != 1 {
				t.Fatalf("%d runs; the tick should have been skipped", n)
			}
			last, _ := f.db.JobScheduleList(ctx)
			if last["daily"].Format(time.RFC3339) != "2026-11-26T06:00:00Z" {
				t.Fatalf("last tick = %v", last["daily"])
			}
			// Disabled schedules do not fire.
			f.r.SetSchedules([]Schedule{{Job: "daily", Kind: "count", Cron: cron, Enabled: false}})
			set(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
			f.r.fireSchedules(ctx)
			if last, _ := f.db.JobScheduleList(ctx); last["daily"].Format(time.RFC3339) != "2026-11-26T06:00:00Z" {
				t.Fatalf("disabled schedule fired: %v", last["daily"])
			}
		})
	}
}

func TestNotifyRefusesBlankFields(t *testing.T) {
	f := newFixture(t, "duckdb", Options{})
	err := f.r.Notify(context.Background(), job.Notification{Level: job.LevelWarn, Activity: "Import", Title: " ", Summary: "x"}, nil)
	if err == nil || err.Error() != "notification title cannot be blank" {
		t.Fatalf("err = %v", err)
	}
	err = f.r.Notify(context.Background(), job.Notification{Level: "loud", Activity: "Import", Title: "t", Summary: "x"}, nil)
	if err == nil || !strings.Contains(err.Error(), `"loud" is not one of`) {
		t.Fatalf("err = %v", err)
	}
	if notes, _ := f.db.NotificationList(context.Background(), "", "", 10); len(notes) != 0 {
		t.Fatalf("stored %+v", notes)
	}
}

func mustGet(t *testing.T, db *store.DB, id string) *store.JobRun {
	t.Helper()
	r, err := db.JobRunGet(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseAtEveryEnd: a job instance that is an io.Closer is closed once
// its run ends, whatever the end: complete, error (each attempt's
// instance), terminated, lease lost, shutdown.
func TestCloseAtEveryEnd(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend, Options{Concurrency: 1})
			runCtx, stopRunner := context.WithCancel(ctx)
			stopped := make(chan struct{})
			go func() { defer close(stopped); f.r.Run(runCtx) }()
			t.Cleanup(func() { stopRunner(); <-stopped })

			if run := f.runToEnd(t, "count", map[string]any{"to": 2}); run.Status != store.RunComplete || f.calls.closes() != 1 {
				t.Fatalf("complete: run %s, %d closed", run.Status, f.calls.closes())
			}
			f.calls.panicAt = 1
			if run := f.runToEnd(t, "count", map[string]any{"to": 2}); run.Status != store.RunError || f.calls.closes() != 3 {
				t.Fatalf("error: run %s, %d closed, want both attempts' instances", run.Status, f.calls.closes())
			}
			f.calls.panicAt = 0

			// Terminated while a Perform waits.
			f.calls.mu.Lock()
			f.calls.hold = make(chan struct{})
			performs := len(f.calls.performs)
			f.calls.mu.Unlock()
			run, err := f.r.Trigger(ctx, "count", map[string]any{"to": 2}, "manual")
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { f.calls.mu.Lock(); defer f.calls.mu.Unlock(); return len(f.calls.performs) > performs })
			if _, err := f.r.Terminate(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			if r, err := f.r.Wait(ctx, run.ID); err != nil || r.Status != store.RunTerminated {
				t.Fatalf("terminate: %+v %v", r, err)
			}
			waitFor(t, func() bool { return f.calls.closes() == 4 })

			// Lease lost: another worker takes the run while a Perform
			// waits; the Perform's checkpoint fails and the instance is
			// closed. (Concurrency 1 keeps this runner from claiming it.)
			f.calls.mu.Lock()
			performs = len(f.calls.performs)
			f.calls.mu.Unlock()
			run, err = f.r.Trigger(ctx, "count", map[string]any{"to": 2}, "manual")
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { f.calls.mu.Lock(); defer f.calls.mu.Unlock(); return len(f.calls.performs) > performs })
			if err := f.db.JobRunHeartbeat(ctx, run.ID, "test", time.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			if stolen, err := f.db.JobRunClaim(ctx, "thief", time.Now, time.Hour); err != nil || stolen.ID != run.ID {
				t.Fatalf("claim by another worker: %+v %v", stolen, err)
			}
			close(f.calls.hold)
			waitFor(t, func() bool { return f.calls.closes() == 5 })
			if r := mustGet(t, f.db, run.ID); r.Status != store.RunRunning || *r.Worker != "thief" {
				t.Fatalf("the stolen run is %s by %v", r.Status, *r.Worker)
			}
			if err := f.db.JobRunFinish(ctx, run.ID, "thief", store.RunComplete, nil, time.Now()); err != nil {
				t.Fatal(err)
			}

			// Shutdown while a Perform waits.
			f.calls.mu.Lock()
			f.calls.hold = make(chan struct{})
			performs = len(f.calls.performs)
			f.calls.mu.Unlock()
			if _, err := f.r.Trigger(ctx, "count", map[string]any{"to": 2}, "manual"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { f.calls.mu.Lock(); defer f.calls.mu.Unlock(); return len(f.calls.performs) > performs })
			stopRunner()
			<-stopped
			if n := f.calls.closes(); n != 6 {
				t.Fatalf("shutdown: %d closed, want 6", n)
			}
		})
	}
}

// TestTriggerParamsTyped: a typed job's parameters are decoded strictly
// when a run is triggered; the error names the parameter.
func TestTriggerParamsTyped(t *testing.T) {
	f := newFixture(t, "duckdb", Options{})
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"to": "three"}, "job count: parameter to: must be a whole number, not string"},
		{map[string]any{"to": 1.5}, "job count: parameter to: must be a whole number, not number 1.5"},
		{map[string]any{"to": 1, "too": 2}, `job count: parameter too: unknown parameter (unknown field "too"; known: to)`},
	} {
		_, err := f.r.Trigger(context.Background(), "count", tc.params, "manual")
		var pe *ParamsError
		if !errors.As(err, &pe) || err.Error() != tc.want || !errors.Is(err, job.ErrBadParam) {
			t.Errorf("Trigger(%v) = %v, want %q", tc.params, err, tc.want)
		}
	}
	if runs, _ := f.db.JobRunList(context.Background(), &store.JobRunListParams{Job: "count", Limit: 10}); len(runs) != 0 {
		t.Fatalf("refused triggers created runs: %+v", runs)
	}
}

// TestStateMustBeAnObject: a Job returning a state that is not a JSON
// object fails the run instead of storing it.
func TestStateMustBeAnObject(t *testing.T) {
	for _, state := range []string{`[1, 2]`, `{"a": }`} {
		if _, err := storedState(json.RawMessage(state)); err == nil || !strings.Contains(err.Error(), "cannot be stored as JSON") {
			t.Errorf("storedState(%s) = %v", state, err)
		}
	}
	for state, want := range map[string]string{``: `{}`, `null`: `{}`, ` { "a" : 1 } `: `{"a":1}`} {
		if got, err := storedState(json.RawMessage(state)); err != nil || string(got) != want {
			t.Errorf("storedState(%q) = %s, %v; want %s", state, got, err, want)
		}
	}
}
