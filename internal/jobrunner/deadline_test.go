package jobrunner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/job"
)

// script is a test job whose Perform the test writes: step gets the
// state's n and returns the next; the run completes at n == 3. It records
// the Prepare calls ("fresh", "resume@n") and the n of each Perform.
type script struct {
	mu       sync.Mutex
	step     func(ctx context.Context, n int) (int, error)
	prepares []string
	performs []int
	closed   int
}

type scriptState struct {
	N int `json:"n"`
}

func (s *script) info(name string, timeout time.Duration) job.Info {
	return job.Info{Name: name, PerformTimeout: timeout, New: func() job.Job { return &scriptRun{s: s} }}
}

func (s *script) record(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func (s *script) calls() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.prepares, s.performs)
}

type scriptRun struct{ s *script }

func (j *scriptRun) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, resuming bool) (*job.Status, error) {
	if !resuming {
		j.s.record(func() { j.s.prepares = append(j.s.prepares, "fresh") })
		return job.NewStatus(scriptState{}, false)
	}
	state, err := job.StateOf[scriptState](st)
	j.s.record(func() { j.s.prepares = append(j.s.prepares, fmt.Sprintf("resume@%d", state.N)) })
	return st, err
}

func (j *scriptRun) Perform(ctx context.Context, st *job.Status) (*job.Status, error) {
	state, err := job.StateOf[scriptState](st)
	if err != nil {
		return nil, err
	}
	j.s.record(func() { j.s.performs = append(j.s.performs, state.N) })
	n, err := j.s.step(ctx, state.N)
	if err != nil {
		return nil, err
	}
	return job.NewStatus(scriptState{N: n}, n >= 3)
}

func (j *scriptRun) Close() error {
	j.s.record(func() { j.s.closed++ })
	return nil
}

func runLog(t *testing.T, db *store.DB, id string) string {
	t.Helper()
	logs, err := db.JobLogList(context.Background(), id, 0, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range logs {
		fmt.Fprintf(&b, "%s %s %s\n", l.Level, l.Message, l.Fields)
	}
	return b.String()
}

// TestPerformDeadline: a Perform past its deadline has its ctx cancelled;
// what it returns is discarded (here a state of 99, which would complete
// the run), a new instance resumes from the checkpoint before it, and the
// run's log says so.
func TestPerformDeadline(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := &script{}
			overruns := 1
			s.step = func(ctx context.Context, n int) (int, error) {
				if n == 1 && overruns > 0 {
					overruns--
					<-ctx.Done()
					return 99, nil // too late: discarded
				}
				return n + 1, nil
			}
			f := newFixture(t, backend, Options{Builtin: []job.Info{s.info("slow", 150*time.Millisecond)}})
			f.start(t)
			run := f.runToEnd(t, "slow", nil)
			if run.Status != store.RunComplete || string(run.Checkpoint) != `{"state":{"n":3},"complete":true}` || run.Performs != 3 || run.Attempts != 1 || len(run.Errors) != 0 {
				t.Fatalf("run = %+v", run)
			}
			if got := s.calls(); got != "[fresh resume@1] [0 1 1 2]" {
				t.Fatalf("calls = %s", got)
			}
			if s.closed != 2 {
				t.Fatalf("%d instances closed, want both", s.closed)
			}
			if log := runLog(t, f.db, run.ID); !strings.Contains(log, `warn jobs: a Perform ran past its deadline and was cancelled; the run resumes from its last checkpoint {"in_a_row":1,"of":3,"perform":2,"perform_timeout":150000000}`) {
				t.Fatalf("log:\n%s", log)
			}
		})
	}
}

// TestPerformIgnoringItsDeadline: a Perform that does not honour its ctx
// is abandoned after the grace; its late result never reaches the
// checkpoint, and its instance is closed when it returns.
func TestPerformIgnoringItsDeadline(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := &script{}
			late := make(chan struct{})
			var first atomic.Bool
			first.Store(true)
			s.step = func(ctx context.Context, n int) (int, error) {
				if n == 1 && first.CompareAndSwap(true, false) {
					time.Sleep(600 * time.Millisecond) // ignores ctx
					close(late)
					return 99, nil
				}
				return n + 1, nil
			}
			f := newFixture(t, backend, Options{Builtin: []job.Info{s.info("deaf", 100*time.Millisecond)}})
			f.start(t)
			run := f.runToEnd(t, "deaf", nil)
			<-late
			if run.Status != store.RunComplete || string(run.Checkpoint) != `{"state":{"n":3},"complete":true}` {
				t.Fatalf("run = %+v", run)
			}
			waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.closed == 2 })
			time.Sleep(50 * time.Millisecond)
			if r := mustGet(t, f.db, run.ID); string(r.Checkpoint) != `{"state":{"n":3},"complete":true}` {
				t.Fatalf("the abandoned Perform wrote %s", r.Checkpoint)
			}
			if log := runLog(t, f.db, run.ID); !strings.Contains(log, "error jobs: a Perform ignores the cancel of its deadline; it is abandoned") {
				t.Fatalf("log:\n%s", log)
			}
		})
	}
}

// TestPerformDeadlineInARow: a Perform that always overruns ends the run
// terminated after Options.PerformOverruns tries, not in a loop.
func TestPerformDeadlineInARow(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := &script{}
			s.step = func(ctx context.Context, n int) (int, error) {
				if n == 2 {
					return n, job.Sleep(ctx, time.Hour, false)
				}
				return n + 1, nil
			}
			f := newFixture(t, backend, Options{PerformOverruns: 2, Builtin: []job.Info{s.info("hang", 100*time.Millisecond)}})
			f.start(t)
			run := f.runToEnd(t, "hang", nil)
			if run.Status != store.RunTerminated || run.CompletedAt == nil || run.Errors[len(run.Errors)-1] != "perform 3 exceeded its deadline of 100ms 2 times in a row" {
				t.Fatalf("run = %+v", run)
			}
			if got := s.calls(); got != "[fresh resume@2] [0 1 2 2]" {
				t.Fatalf("calls = %s", got)
			}
			if string(run.Checkpoint) != `{"state":{"n":2},"complete":false}` {
				t.Fatalf("checkpoint = %s", run.Checkpoint)
			}
		})
	}
}

// TestInterruptibleWorkIsNotTimed: time in job.Interruptible (here an
// interruptible Sleep) does not count toward the deadline; the same sleep
// outside it does.
func TestInterruptibleWorkIsNotTimed(t *testing.T) {
	s := &script{}
	var mu sync.Mutex
	interruptible := true
	s.step = func(ctx context.Context, n int) (int, error) {
		mu.Lock()
		i := interruptible
		mu.Unlock()
		if err := job.Sleep(ctx, 50*time.Millisecond, false); err != nil {
			return n, err
		}
		return n + 1, job.Sleep(ctx, 400*time.Millisecond, i)
	}
	f := newFixture(t, "duckdb", Options{PerformOverruns: 1, Builtin: []job.Info{s.info("nap", 200*time.Millisecond)}})
	f.start(t)
	if run := f.runToEnd(t, "nap", nil); run.Status != store.RunComplete || s.calls() != "[fresh] [0 1 2]" {
		t.Fatalf("run = %+v, calls %s", run, s.calls())
	}
	mu.Lock()
	interruptible = false
	mu.Unlock()
	if run := f.runToEnd(t, "nap", nil); run.Status != store.RunTerminated || !strings.Contains(run.Errors[0], "exceeded its deadline of 200ms 1 times") {
		t.Fatalf("run = %+v", run)
	}
}

// TestPerformTimeoutSetting: weft.yaml's setting beats the job's own,
// which beats the runner's default; jobs built into the binary have none
// unless set.
func TestPerformTimeoutSetting(t *testing.T) {
	f := newFixture(t, "duckdb", Options{PerformTimeout: 42 * time.Second})
	r := f.r
	registered := job.Info{Name: "app_job"}
	own := job.Info{Name: "app_job", PerformTimeout: 5 * time.Second}
	for _, tc := range []struct {
		run  store.JobRun
		info job.Info
		want time.Duration
	}{
		{store.JobRun{Job: "app_job", Kind: "app_job"}, registered, 42 * time.Second},
		{store.JobRun{Job: "app_job", Kind: "app_job"}, own, 5 * time.Second},
		{store.JobRun{Job: "count", Kind: "count"}, job.Info{Name: "count"}, job.NoPerformTimeout},
		{store.JobRun{Job: "nightly", Kind: "app_job"}, own, 2 * time.Minute},
		{store.JobRun{Job: "unbounded", Kind: "app_job"}, own, job.NoPerformTimeout},
	} {
		r.SetSchedules([]Schedule{{Job: "nightly", Kind: "app_job", PerformTimeout: 2 * time.Minute},
			{Job: "unbounded", Kind: "app_job", PerformTimeout: job.NoPerformTimeout}})
		if got := r.performTimeout(&tc.run, tc.info); got != tc.want {
			t.Errorf("%s (%s): %v, want %v", tc.run.Job, tc.run.Kind, got, tc.want)
		}
	}
	if d := New(f.db, Options{}).opts.PerformTimeout; d != time.Minute {
		t.Errorf("default %v", d)
	}
}

// interruptedBy records what job.Interruptible returned to a Perform.
type interruptedBy struct {
	mu  sync.Mutex
	err error
}

func (i *interruptedBy) set(err error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.err = err
}

func (i *interruptedBy) get() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.err
}

// interruptibleAt1 is a step that, at n == 1 the first time, waits in
// job.Interruptible until interrupted, records the error and returns a
// state of 99 anyway: the runtime must discard it.
func interruptibleAt1(entered chan<- struct{}, got *interruptedBy) func(ctx context.Context, n int) (int, error) {
	var once atomic.Bool
	once.Store(true)
	return func(ctx context.Context, n int) (int, error) {
		if n != 1 || !once.CompareAndSwap(true, false) {
			return n + 1, nil
		}
		err := job.Interruptible(ctx, func(ctx context.Context) error {
			close(entered)
			<-ctx.Done()
			return nil
		})
		got.set(err)
		return 99, nil
	}
}

// interruptibleFixture is a runner (not started) with the job "wait",
// whose second Perform waits in interruptible work: entered is closed
// when it does, got holds what job.Interruptible returned.
func interruptibleFixture(t *testing.T, backend string, opts Options) (*script, *fixture, chan struct{}, *interruptedBy) {
	s := &script{}
	entered := make(chan struct{})
	got := &interruptedBy{}
	s.step = interruptibleAt1(entered, got)
	opts.Builtin = []job.Info{s.info("wait", 0)}
	return s, newFixture(t, backend, opts), entered, got
}

// TestInterruptibleShutdown: a runner stopped while a Perform is in
// interruptible work; the next runner resumes the run with the state the
// Perform was called with.
func TestInterruptibleShutdown(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s, f, entered, got := interruptibleFixture(t, backend, Options{})
			runCtx, stop := context.WithCancel(ctx)
			stopped := make(chan struct{})
			go func() { defer close(stopped); f.r.Run(runCtx) }()
			run, err := f.r.Trigger(ctx, "wait", nil, "manual")
			if err != nil {
				t.Fatal(err)
			}
			<-entered
			stop()
			<-stopped
			if err := got.get(); !errors.Is(err, job.ErrInterrupted) || !errors.Is(err, context.Canceled) {
				t.Fatalf("Interruptible returned %v", err)
			}
			if r := mustGet(t, f.db, run.ID); r.Status != store.RunRunning || string(r.Checkpoint) != `{"state":{"n":1},"complete":false}` {
				t.Fatalf("after the stop: %+v", r)
			}
			next := New(f.db, f.r.opts)
			nextCtx, stopNext := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); next.Run(nextCtx) }()
			defer func() { stopNext(); <-done }()
			waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			r, err := next.Wait(waitCtx, run.ID)
			if err != nil || r.Status != store.RunComplete || string(r.Checkpoint) != `{"state":{"n":3},"complete":true}` || r.Attempts != 1 {
				t.Fatalf("run = %+v %v", r, err)
			}
			if got := s.calls(); got != "[fresh resume@1] [0 1 1 2]" {
				t.Fatalf("calls = %s", got)
			}
		})
	}
}

// TestInterruptibleLeaseLost: another worker takes the run while a
// Perform is in interruptible work; the work is interrupted at once and
// nothing of it reaches the run.
func TestInterruptibleLeaseLost(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s, f, entered, got := interruptibleFixture(t, backend, Options{Concurrency: 1})
			f.start(t)
			run, err := f.r.Trigger(ctx, "wait", nil, "manual")
			if err != nil {
				t.Fatal(err)
			}
			<-entered
			if err := f.db.JobRunHeartbeat(ctx, run.ID, "test", time.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			if stolen, err := f.db.JobRunClaim(ctx, "thief", time.Now, time.Hour); err != nil || stolen.ID != run.ID {
				t.Fatalf("claim by another worker: %+v %v", stolen, err)
			}
			waitFor(t, func() bool { return got.get() != nil })
			if err := got.get(); !errors.Is(err, job.ErrInterrupted) || !errors.Is(err, store.ErrLeaseLost) {
				t.Fatalf("Interruptible returned %v", err)
			}
			waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.closed == 1 })
			if r := mustGet(t, f.db, run.ID); r.Status != store.RunRunning || *r.Worker != "thief" || string(r.Checkpoint) != `{"state":{"n":1},"complete":false}` {
				t.Fatalf("run = %+v", r)
			}
		})
	}
}
