package jobrunner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// errOverrun is a Perform cancelled by its deadline: the run resumes from
// its last checkpoint with a new instance of the job.
var errOverrun = errors.New("the perform exceeded its deadline")

// overrunGraceMax bounds how long a Perform cancelled by its deadline is
// waited for before it is abandoned (see perform).
const overrunGraceMax = 5 * time.Second

// performTimeout is the deadline of one Perform of a run, negative for
// none: weft.yaml's setting for the job, else the job's own, else the
// runner's default for the jobs of package job's registry. Jobs built into
// the binary (stitching, attributes, ...) work in units that grow with
// the data and have none unless one is set.
func (r *Runner) performTimeout(run *store.JobRun, info job.Info) time.Duration {
	r.mu.Lock()
	s, declared := r.schedules[run.Job]
	r.mu.Unlock()
	switch {
	case declared && s.PerformTimeout != 0:
		return s.PerformTimeout
	case info.PerformTimeout != 0:
		return info.PerformTimeout
	case r.builtin(run.Kind):
		return job.NoPerformTimeout
	}
	return r.opts.PerformTimeout
}

func (r *Runner) builtin(kind string) bool {
	for _, info := range r.opts.Builtin {
		if info.Name == kind {
			return true
		}
	}
	return false
}

// perform calls j.Perform under a deadline of limit (none if negative),
// counting only the time spent outside job.Interruptible work. When the
// deadline passes, the instance's ctx is cancelled with the cause
// errOverrun and the Perform is waited for as long again (at most
// overrunGraceMax); whatever it returns is discarded. One that has not
// returned by then is abandoned: it goes on in its goroutine, its result
// is dropped and its instance is closed when it returns (abandoned
// reports this). A Perform that returns after ctx ended for any other
// reason (a shutdown, a terminate, a lost lease) also has its result
// discarded: the run resumes from the Status the Perform was given.
func perform(ctx context.Context, cancel context.CancelCauseFunc, j job.Job, st *job.Status, limit time.Duration, log *slog.Logger) (next *job.Status, abandoned bool, err error) {
	type result struct {
		st  *job.Status
		err error
	}
	done := make(chan result, 1)
	var overran atomic.Bool
	clock := startClock(limit, func() {
		overran.Store(true)
		cancel(errOverrun)
	})
	pctx := job.WithMarker(ctx, clock.mark)
	go func() {
		st, err := call(func() (*job.Status, error) { return j.Perform(pctx, st) })
		done <- result{st, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		if !overran.Load() {
			res = <-done // as before the deadline: a stop waits for the Perform
			break
		}
		select {
		case res = <-done:
		case <-time.After(min(limit, overrunGraceMax)):
			log.Error("jobs: a Perform ignores the cancel of its deadline; it is abandoned and its result will be discarded")
			go func() {
				<-done
				closeJob(j, log)
			}()
			abandoned = true
		}
	}
	clock.stop()
	if ctx.Err() != nil {
		return nil, abandoned, context.Cause(ctx)
	}
	return res.st, false, res.err
}

// clock measures a Perform's time outside interruptible work and calls
// fire once the time passes its limit.
type clock struct {
	mu      sync.Mutex
	left    time.Duration // of the limit, when the current stretch began
	since   time.Time     // when the current stretch began; zero while paused
	depth   int           // nested Interruptible calls
	timer   *time.Timer
	fire    func()
	stopped bool
}

func startClock(limit time.Duration, fire func()) *clock {
	c := &clock{left: limit, fire: fire}
	if limit < 0 {
		c.stopped = true
		return c
	}
	c.run()
	return c
}

func (c *clock) run() {
	c.since = time.Now()
	c.timer = time.AfterFunc(c.left, c.fire)
}

// mark is the job.Marker of a Perform: interruptible work pauses the
// clock.
func (c *clock) mark(interruptible bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if interruptible {
		c.depth++
	} else {
		c.depth--
	}
	switch {
	case c.stopped:
	case interruptible && c.depth == 1:
		c.timer.Stop()
		c.left -= time.Since(c.since)
		c.since = time.Time{}
	case !interruptible && c.depth == 0:
		c.run()
	}
}

func (c *clock) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopped && c.timer != nil {
		c.timer.Stop()
	}
	c.stopped = true
}
