package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// steps is a job registered for these tests: it performs params.steps
// steps, logging each and notifying at the end; with params.wait it waits
// for its context to end at each step (to be terminated).
type steps struct {
	inv  *job.Invocation
	wait bool
}

func init() {
	job.Register(job.Info{Name: "api_test_steps", Description: "counts steps", New: func() job.Job { return &steps{} }})
}

// steps reads its parameters and state itself, as a job.Job (not a
// job.Worker) does.
type stepsParams struct {
	Steps float64 `json:"steps"`
	Wait  bool    `json:"wait"`
}

type stepsState struct {
	Done float64 `json:"done"`
	Of   float64 `json:"of"`
}

func (s *steps) ValidateParams(_ context.Context, params json.RawMessage) error {
	var p map[string]any
	if err := json.Unmarshal(params, &p); err != nil {
		return err
	}
	if _, ok := p["steps"].(float64); !ok {
		return fmt.Errorf("steps must be a number, got %v", p["steps"])
	}
	return nil
}

func (s *steps) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, resuming bool) (*job.Status, error) {
	s.inv = inv
	p, err := job.ParamsOf[stepsParams](inv.Parameters)
	if err != nil {
		return nil, err
	}
	s.wait = p.Wait
	return job.NewStatus(stepsState{Of: p.Steps}, false)
}

func (s *steps) Perform(ctx context.Context, st *job.Status) (*job.Status, error) {
	if s.wait {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	state, err := job.StateOf[stepsState](st)
	if err != nil {
		return nil, err
	}
	state.Done++
	s.inv.Log.Debug("step", "n", state.Done)
	complete := state.Done >= state.Of
	if complete {
		if err := s.inv.Notify.Notify(ctx, job.Notification{Level: job.LevelInfo, Activity: "Steps", Title: "Done", Summary: fmt.Sprintf("%v steps", state.Done)}); err != nil {
			return nil, err
		}
	}
	return job.NewStatus(state, complete)
}

func TestJobsAPI(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			r := s.do(t, "POST", "/v1/jobs/api_test_steps/runs", nil, []byte(`{"steps": 3}`))
			run := decode[store.JobRun](t, r)
			if r.status != 202 || run.Job != "api_test_steps" || run.Status != "pending" || string(run.Params) != `{"steps":3}` || run.Trigger != "manual" {
				t.Fatalf("trigger: %d %s", r.status, r.body)
			}
			run = waitRun(t, s, run.ID)
			if run.Status != "complete" || run.Performs != 3 || string(run.Checkpoint) != `{"state":{"done":3,"of":3},"complete":true}` {
				t.Fatalf("run: %+v", run)
			}
			logs := decode[struct{ Logs []store.JobLog }](t, s.do(t, "GET", "/v1/jobs/runs/"+run.ID+"/logs", nil, nil)).Logs
			if len(logs) != 3 || logs[2].Message != "step" || string(logs[2].Fields) != `{"n":3}` || logs[0].ID >= logs[1].ID {
				t.Fatalf("logs: %+v", logs)
			}
			if logs := decode[struct{ Logs []store.JobLog }](t, s.do(t, "GET", "/v1/jobs/runs/"+run.ID+"/logs?level=info", nil, nil)).Logs; len(logs) != 0 {
				t.Fatalf("debug lines at level info: %+v", logs)
			}
			if logs := decode[struct{ Logs []store.JobLog }](t, s.do(t, "GET", fmt.Sprintf("/v1/jobs/runs/%s/logs?after=%d", run.ID, logs[1].ID), nil, nil)).Logs; len(logs) != 1 {
				t.Fatalf("after: %+v", logs)
			}
			notes := decode[struct{ Notifications []store.Notification }](t, s.do(t, "GET", "/v1/notifications?job=api_test_steps", nil, nil)).Notifications
			if len(notes) != 1 || notes[0].Summary != "3 steps" || *notes[0].RunID != run.ID || notes[0].Level != "info" {
				t.Fatalf("notifications: %+v", notes)
			}

			// A run that waits is terminated through the API.
			waiting := decode[store.JobRun](t, s.do(t, "POST", "/v1/jobs/api_test_steps/runs", nil, []byte(`{"steps": 1, "wait": true}`)))
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if decode[store.JobRun](t, s.do(t, "GET", "/v1/jobs/runs/"+waiting.ID, nil, nil)).Status == "running" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the run never started")
				}
			}
			if r := s.do(t, "POST", "/v1/jobs/runs/"+waiting.ID+"/terminate", nil, nil); r.status != 202 {
				t.Fatalf("terminate: %d %s", r.status, r.body)
			}
			if run := waitRun(t, s, waiting.ID); run.Status != "terminated" || run.Errors[len(run.Errors)-1] != "terminated by request" || run.CompletedAt == nil {
				t.Fatalf("terminated run: %+v", run)
			}
			expectError(t, s.do(t, "POST", "/v1/jobs/runs/"+waiting.ID+"/terminate", nil, nil), 409, "run_finished", "has already ended (terminated)")

			list := decode[struct{ Runs []store.JobRun }](t, s.do(t, "GET", "/v1/jobs/runs?job=api_test_steps&status=COMPLETE", nil, nil)).Runs
			if len(list) != 1 || list[0].ID != run.ID {
				t.Fatalf("list: %+v", list)
			}
			if list := decode[struct{ Runs []store.JobRun }](t, s.do(t, "GET", "/v1/jobs/runs?limit=1", nil, nil)).Runs; len(list) != 1 || list[0].ID != waiting.ID {
				t.Fatalf("newest first: %+v", list)
			}

			// Bad requests.
			expectError(t, s.do(t, "POST", "/v1/jobs/nope/runs", nil, nil), 404, "not_found", `unknown job "nope"`)
			expectError(t, s.do(t, "POST", "/v1/jobs/api_test_steps/runs", nil, []byte(`{"steps": "many"}`)), 400, "invalid_parameters", "steps must be a number")
			expectError(t, s.do(t, "POST", "/v1/jobs/api_test_steps/runs", nil, []byte(`[1]`)), 400, "bad_request", "body must be a JSON object")
			expectError(t, s.do(t, "POST", "/v1/jobs/stitching/runs", nil, []byte(`{"from_scrach": true}`)), 400, "invalid_parameters", `unknown field "from_scrach"`)
			// A typed job's parameters are decoded strictly: the error names the parameter.
			expectError(t, s.do(t, "POST", "/v1/jobs/stitching/runs", nil, []byte(`{"from_scrach": true}`)), 400, "invalid_parameters", `parameter from_scrach: unknown parameter`)
			expectError(t, s.do(t, "POST", "/v1/jobs/stitching/runs", nil, []byte(`{"from_scratch": "yes"}`)), 400, "invalid_parameters", "parameter from_scratch: must be true or false, not string")
			expectError(t, s.do(t, "POST", "/v1/jobs/attributes/runs", nil, []byte(`{"only": "a"}`)), 400, "invalid_parameters", "parameter only: must be a list, not string")
			expectError(t, s.do(t, "GET", "/v1/jobs/runs?status=done", nil, nil), 400, "bad_request", `status "done" is not one of pending, scheduled`)
			expectError(t, s.do(t, "GET", "/v1/jobs/runs/nope", nil, nil), 404, "not_found", "run nope")
			expectError(t, s.do(t, "GET", "/v1/jobs/runs/"+run.ID+"/logs?level=loud", nil, nil), 400, "bad_request", `level "loud"`)
			expectError(t, s.do(t, "GET", "/v1/notifications?level=loud", nil, nil), 400, "bad_request", `level "loud"`)

			// Declared jobs: parameters are checked when the config is
			// applied, and the schedule is listed with its next tick.
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte("jobs:\n  nightly: {job: api_test_steps, cron: \"0 0 6 * * ?\"}\n")), 400, "invalid_config", "jobs.nightly.parameters: steps must be a number")
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte("jobs:\n  nightly: {job: nope, cron: \"0 0 6 * * ?\"}\n")), 400, "invalid_config", `jobs.nightly: no job named "nope"`)
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte("jobs:\n  stitching: {parameters: {from_scratch: 1}}\n")), 400, "invalid_config", "jobs.stitching.parameters: parameter from_scratch: must be true or false, not number")
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte("jobs:\n  attributes: {parameters: {recalculate: true}}\n")), 400, "invalid_config", "jobs.attributes.parameters: parameter recalculate: unknown parameter")
			if r := s.do(t, "PUT", "/v1/config", nil, []byte("jobs:\n  nightly: {job: api_test_steps, cron: \"0 0 6 * * ?\", parameters: {steps: 2}}\n")); r.status != 200 {
				t.Fatalf("apply: %s", r.body)
			}
			var jobs struct {
				Jobs []struct {
					Job, Kind, Cron string
					NextRunAt       time.Time `json:"next_run_at"`
				}
				Kinds []struct{ Name string }
			}
			if err := json.Unmarshal(s.do(t, "GET", "/v1/jobs", nil, nil).body, &jobs); err != nil {
				t.Fatal(err)
			}
			if len(jobs.Jobs) != 1 || jobs.Jobs[0].Kind != "api_test_steps" || jobs.Jobs[0].NextRunAt.Hour() != 6 || !strings.Contains(fmt.Sprint(jobs.Kinds), "stitching") {
				t.Fatalf("jobs: %+v", jobs)
			}
			// Triggering the declared job uses its parameters.
			run = decode[store.JobRun](t, s.do(t, "POST", "/v1/jobs/nightly/runs", nil, nil))
			if run = waitRun(t, s, run.ID); run.Status != "complete" || run.Performs != 2 || run.Kind != "api_test_steps" {
				t.Fatalf("declared run: %+v", run)
			}
		})
	}
}

func waitRun(t *testing.T, s *testServer, id string) store.JobRun {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		run := decode[store.JobRun](t, s.do(t, "GET", "/v1/jobs/runs/"+id, nil, nil))
		if jobrunner.Finished(run.Status) {
			return run
		}
	}
	t.Fatalf("run %s did not end", id)
	return store.JobRun{}
}
