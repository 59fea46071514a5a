package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/worked"
	"github.com/weftdata/weft/job"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newPipeline is a pipeline over a real store with the worked example's
// config in force and its events ingested but not stitched. The
// background loop is on (a StitchInterval of an hour, never reached) so
// that stitching asks for attribute runs; no runner claims them.
func newPipeline(t *testing.T, backend string) (*Pipeline, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db := dbtest.Open(t, backend)
	p, err := New(ctx, db, Options{StitchInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(ctx, []byte(worked.Config)); err != nil {
		t.Fatal(err)
	}
	raws := make([]json.RawMessage, len(worked.Events))
	for i, e := range worked.Events {
		raws[i] = json.RawMessage(e)
	}
	rej, err := (&event.Writer{In: event.NewIngester(db, nil)}).Append(ctx, raws)
	if err != nil || len(rej) > 0 {
		t.Fatalf("ingest: %v %+v", err, rej)
	}
	return p, db
}

// step is one call of a built-in job as the runtime makes it.
type step struct {
	t *testing.T
	p *Pipeline
	j job.Job
}

func (p *Pipeline) start(t *testing.T, name string) step {
	t.Helper()
	info, ok := p.jobs.Lookup(name)
	if !ok {
		t.Fatalf("%s is not built in", name)
	}
	return step{t: t, p: p, j: info.New()}
}

func (s step) prepare(params string, last *job.Status) (*job.Status, error) {
	inv := &job.Invocation{RunID: "run-1", Job: "test", Parameters: json.RawMessage(params), Attempt: 1,
		Env: &job.Env{Log: slog.New(slog.DiscardHandler)}}
	return s.j.Prepare(context.Background(), inv, last, last != nil)
}

func (s step) mustPrepare(params string, last *job.Status) *job.Status {
	s.t.Helper()
	st, err := s.prepare(params, last)
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

func (s step) mustPerform(st *job.Status) *job.Status {
	s.t.Helper()
	next, err := s.j.Perform(context.Background(), st)
	if err != nil {
		s.t.Fatal(err)
	}
	return next
}

func pendingRuns(t *testing.T, db *store.DB, name string) int {
	t.Helper()
	active, err := db.JobRunActive(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return len(active)
}

// TestStitchingJobStates drives the stitching job as the runtime does:
// Prepare leaves an empty state, one Perform stitches and completes with
// the pass's result, and asks for an attribute run when entities changed.
func TestStitchingJobStates(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			p, db := newPipeline(t, backend)
			s := p.start(t, StitchingJob)
			st := s.mustPrepare(`{}`, nil)
			if string(st.State) != `{}` || st.Complete {
				t.Fatalf("after Prepare: %s complete=%v", st.State, st.Complete)
			}
			st = s.mustPerform(st)
			res, err := job.StateOf[StitchResult](st)
			// The first pass under new rules rebuilds from scratch.
			if err != nil || !st.Complete || res.EventsProcessed != len(worked.Events) || res.EntitiesCreated != 3 || !res.FromScratch {
				t.Fatalf("after Perform: %s complete=%v (%v)", st.State, st.Complete, err)
			}
			if n := pendingRuns(t, db, AttributesJob); n != 1 {
				t.Fatalf("%d attribute runs waiting after entities changed, want 1", n)
			}

			// Nothing new: complete with nothing processed.
			s = p.start(t, StitchingJob)
			st = s.mustPerform(s.mustPrepare(`{}`, nil))
			if res, _ := job.StateOf[StitchResult](st); !st.Complete || res.EventsProcessed != 0 || res.FromScratch {
				t.Fatalf("second pass: %s", st.State)
			}

			// A resumed run starts its pass again from an empty state.
			st = s.mustPrepare(`{}`, &job.Status{State: json.RawMessage(`{"events_processed":3,"entities_created":1,"merges":0,"from_scratch":false,"duration_ms":1}`)})
			if string(st.State) != `{}` || st.Complete {
				t.Fatalf("after a resuming Prepare: %s complete=%v", st.State, st.Complete)
			}

			// from_scratch restitches every event.
			s = p.start(t, StitchingJob)
			st = s.mustPerform(s.mustPrepare(`{"from_scratch": true}`, nil))
			if res, _ := job.StateOf[StitchResult](st); !st.Complete || !res.FromScratch || res.EventsProcessed != len(worked.Events) {
				t.Fatalf("from scratch: %s", st.State)
			}

			// Bad parameters never reach the pass.
			if _, err := s.prepare(`{"from_scratch": "yes"}`, nil); !errors.Is(err, job.ErrBadParam) || !strings.Contains(err.Error(), "parameter from_scratch") {
				t.Fatalf("bad parameters: %v", err)
			}
		})
	}
}

// TestAttributesJobStates drives the attributes job: an empty state after
// Prepare, the run's result once its one Perform completes; parameters
// that exclude each other are refused before the run and at Prepare.
func TestAttributesJobStates(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			p, _ := newPipeline(t, backend)
			s := p.start(t, StitchingJob)
			s.mustPerform(s.mustPrepare(`{}`, nil))

			s = p.start(t, AttributesJob)
			st := s.mustPrepare(`{}`, nil)
			if string(st.State) != `{}` || st.Complete {
				t.Fatalf("after Prepare: %s complete=%v", st.State, st.Complete)
			}
			st = s.mustPerform(st)
			res, err := job.StateOf[attr.RunResult](st)
			if err != nil || !st.Complete || len(res.Attributes) == 0 {
				t.Fatalf("after Perform: %s complete=%v (%v)", st.State, st.Complete, err)
			}
			for _, a := range res.Attributes {
				if a.Status != "ok" || a.Entities != 3 {
					t.Fatalf("attribute %s: %s %s", a.ID, a.Status, a.Error)
				}
			}

			// only limits a run to the attributes it names.
			s = p.start(t, AttributesJob)
			again, _ := job.StateOf[attr.RunResult](s.mustPerform(s.mustPrepare(`{"recalculate_all": true, "only": ["fav_category"]}`, nil)))
			if len(again.Attributes) != 1 || again.Attributes[0].ID != "fav_category" || again.Attributes[0].Status != "ok" {
				t.Fatalf("a run of one attribute: %+v", again.Attributes)
			}

			both := `{"from_scratch": true, "recalculate_all": true}`
			info, _ := p.jobs.Lookup(AttributesJob)
			if err := info.ValidateParams(context.Background(), json.RawMessage(both)); err == nil || !strings.Contains(err.Error(), "exclude each other") {
				t.Fatalf("ValidateParams(%s) = %v", both, err)
			}
			if _, err := p.start(t, AttributesJob).prepare(both, nil); err == nil || !strings.Contains(err.Error(), "exclude each other") {
				t.Fatalf("Prepare(%s) = %v", both, err)
			}
			if _, err := s.prepare(`{"only": "a"}`, nil); err == nil || err.Error() != "parameter only: must be a list, not string" {
				t.Fatalf("bad parameters: %v", err)
			}
		})
	}
}

// While the background loop gives way to a saturating load, the minute's
// scheduled stitching run steps aside; a run asked for otherwise stitches.
func TestScheduledStitchingStepsAsideForALoad(t *testing.T) {
	p, db := newPipeline(t, "duckdb")
	p.givingWay.Store(true)
	run := func(trigger string) StitchResult {
		s := p.start(t, StitchingJob)
		inv := &job.Invocation{RunID: "run-" + trigger, Job: StitchingJob, Parameters: json.RawMessage(`{}`), Attempt: 1,
			Trigger: trigger, Env: &job.Env{Log: slog.New(slog.DiscardHandler)}}
		st, err := s.j.Prepare(context.Background(), inv, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		st = s.mustPerform(st)
		res, err := job.StateOf[StitchResult](st)
		if err != nil || !st.Complete {
			t.Fatalf("%s run: %s (%v)", trigger, st.State, err)
		}
		return res
	}
	if res := run("schedule"); res.EventsProcessed != 0 {
		t.Fatalf("a scheduled run stitched %d events while the loop gave way", res.EventsProcessed)
	}
	if st, err := db.Stats(context.Background()); err != nil || st.StitchedSeq != 0 {
		t.Fatalf("stitched up to %d (%v) after the scheduled run", st.StitchedSeq, err)
	}
	if res := run("manual"); res.EventsProcessed != len(worked.Events) {
		t.Fatalf("a manual run stitched %d events, want %d", res.EventsProcessed, len(worked.Events))
	}
}
