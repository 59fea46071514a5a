package pluginrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/job"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Two plugins as shell scripts (argv gets manifest.json and results.json):
// flow asks for an additional stage extra from its initial stage; broken
// fails its initial stage with its own status.
const pluginsYAML = `plugins:
  - name: flow
    command: ["/bin/sh", "-c", "if grep -q '\"stage\": *\"extra\"' \"$1\"; then echo '{\"status\":{\"code\":\"success\"},\"data\":{\"from\":\"extra\"}}' > \"$2\"; else echo '{\"status\":{\"code\":\"success\"},\"data\":{\"from\":\"initial\"},\"stages\":{\"extra\":{}}}' > \"$2\"; fi", "flow"]
  - name: broken
    command: ["/bin/sh", "-c", "echo '{\"status\":{\"code\":\"error\",\"title\":\"No model\",\"explanation\":\"the model is missing\"}}' > \"$2\"", "broken"]
`

// notes records notifications.
type notes struct {
	mu   sync.Mutex
	list []job.Notification
}

func (n *notes) Notify(_ context.Context, note job.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, note)
	return nil
}

func (n *notes) last(t *testing.T) job.Notification {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.list) == 0 {
		t.Fatal("no notification")
	}
	return n.list[len(n.list)-1]
}

// runner drives plugin runs as the job runtime does, over a real store and
// plugin service, with real plugin processes.
type runner struct {
	t     *testing.T
	info  job.Info
	svc   *plugin.Service
	notes *notes
}

func newRunner(t *testing.T, backend string) *runner {
	t.Helper()
	return newRunnerYAML(t, backend, pluginsYAML)
}

// newRunnerYAML is a runner of the plugins a weft.yaml declares.
func newRunnerYAML(t *testing.T, backend, doc string) *runner {
	t.Helper()
	ctx := context.Background()
	db := dbtest.Open(t, backend)
	svc, err := plugin.Open(ctx, db, plugin.Options{BaseURL: "http://127.0.0.1:1", StorageURL: "file://" + filepath.ToSlash(t.TempDir()),
		Commands: plugin.Commands{Patterns: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	info := Info(&Deps{Plugins: svc, WorkDir: t.TempDir(),
		Config: func(context.Context) (*config.Config, error) { return cfg, nil }})
	return &runner{t: t, info: info, svc: svc, notes: &notes{}}
}

func (r *runner) invocation(run, params string) *job.Invocation {
	return &job.Invocation{RunID: run, Job: "plugin:test", Parameters: json.RawMessage(params), Attempt: 1,
		Env: &job.Env{Log: slog.New(slog.DiscardHandler), Notify: r.notes}}
}

// state reads a status's run state; the status must not be complete
// unless the phase says succeeded.
func (r *runner) state(st *job.Status) State {
	r.t.Helper()
	s, err := job.StateOf[State](st)
	if err != nil {
		r.t.Fatal(err)
	}
	if st.Complete != (s.Phase == PhaseSucceeded) {
		r.t.Fatalf("phase %s with complete=%v", s.Phase, st.Complete)
	}
	return s
}

func (r *runner) perform(j job.Job, st *job.Status) *job.Status {
	r.t.Helper()
	next, err := j.Perform(context.Background(), st)
	if err != nil {
		r.t.Fatal(err)
	}
	return next
}

// TestRunPhases walks a plugin run through its phases: initial, the
// additional stages it asks for, publish, succeeded; a resumed run
// continues from its checkpoint's phase.
func TestRunPhases(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			r := newRunner(t, backend)
			j := r.info.New()
			st, err := j.Prepare(ctx, r.invocation("run-flow", `{"plugin": "flow"}`), nil, false)
			if err != nil {
				t.Fatal(err)
			}
			s := r.state(st)
			if s.Phase != PhaseInitial || s.Plugin != "flow" || len(s.Stages) != 1 || s.Stages[0].Status != "pending" || s.Started.IsZero() {
				t.Fatalf("after Prepare: %s", st.State)
			}
			if _, ok := s.Datasets["initial"]; !ok {
				t.Fatalf("no initial dataset: %s", st.State)
			}

			st = r.perform(j, st)
			if s = r.state(st); s.Phase != PhaseStages || len(s.Stages) != 2 || s.Stages[0].Status != plugin.StatusSucceeded ||
				string(s.Stages[0].Data) != `{"from":"initial"}` || s.Stages[1].Name != "extra" || s.Stages[1].Status != "pending" {
				t.Fatalf("after the initial stage: %s", st.State)
			}

			// The process dies here; the run resumes from its checkpoint
			// in a new instance, which runs only what is left.
			j = r.info.New()
			resumed, err := j.Prepare(ctx, r.invocation("run-flow", `{"plugin": "flow"}`), st, true)
			if err != nil || string(resumed.State) != string(st.State) || resumed.Complete {
				t.Fatalf("resume: %s %v, want the checkpoint %s", resumed.State, err, st.State)
			}
			st = r.perform(j, resumed)
			if s = r.state(st); s.Phase != PhasePublish || s.Stages[1].Status != plugin.StatusSucceeded || string(s.Stages[1].Data) != `{"from":"extra"}` {
				t.Fatalf("after the additional stages: %s", st.State)
			}
			st = r.perform(j, st)
			if s = r.state(st); s.Phase != PhaseSucceeded || !st.Complete || s.Published != nil {
				t.Fatalf("after publishing: %s", st.State)
			}
			if n := r.notes.last(t); n.Level != job.LevelSuccess || n.Activity != "Plugin flow" || n.Summary != "2 stages" {
				t.Fatalf("notification %+v", n)
			}
			rows, err := r.svc.StageList(ctx, "run-flow")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, row := range rows {
				got = append(got, row.Stage+":"+row.Status)
			}
			if fmt.Sprint(got) != "[initial:succeeded extra:succeeded]" {
				t.Fatalf("stages %v", got)
			}
		})
	}
}

// TestRunFails: a stage that fails moves the run to the failed phase,
// whose Perform discards the run and ends it without the retry.
func TestRunFails(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			r := newRunner(t, backend)
			j := r.info.New()
			st, err := j.Prepare(ctx, r.invocation("run-broken", `{"plugin": "broken"}`), nil, false)
			if err != nil {
				t.Fatal(err)
			}
			st = r.perform(j, st)
			s := r.state(st)
			if s.Phase != PhaseFailed || s.Failure == nil || s.Failure.Stage != "initial" || *s.Failure.Status.Title != "No model" {
				t.Fatalf("after the failing stage: %s", st.State)
			}
			_, err = j.Perform(ctx, st)
			var final *job.FailError
			if !errors.As(err, &final) || err.Error() != "stage initial failed: No model: the model is missing; nothing was published" {
				t.Fatalf("failed phase: %v", err)
			}
			if n := r.notes.last(t); n.Level != job.LevelError || n.Title != "Plugin run failed" {
				t.Fatalf("notification %+v", n)
			}

			// A state in no known phase ends the run at once.
			_, err = j.Perform(ctx, &job.Status{State: json.RawMessage(`{"phase": "bogus"}`)})
			if !errors.As(err, &final) || !strings.Contains(err.Error(), `unknown phase "bogus"`) {
				t.Fatalf("unknown phase: %v", err)
			}
		})
	}
}

// TestRunParams: parameters are checked before a run is created (the
// plugin must be declared) and decoded strictly.
func TestRunParams(t *testing.T) {
	r := newRunner(t, "duckdb")
	ctx := context.Background()
	for params, want := range map[string]string{
		`{"plugin": "nope"}`:                   `unknown plugin "nope"`,
		`{}`:                                   "parameter plugin (the plugin's name) is required",
		`{"plugin": 1}`:                        "parameter plugin: must be a string, not number",
		`{"plugin": "flow", "input": {}}`:      `parameter input: unknown parameter`,
		`{"plugin": "flow", "inputParams": 1}`: "parameter inputParams: must be an object, not number",
	} {
		if err := r.info.ValidateParams(ctx, json.RawMessage(params)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateParams(%s) = %v, want %q", params, err, want)
		}
	}
	if err := r.info.ValidateParams(ctx, json.RawMessage(`{"plugin": "flow"}`)); err != nil {
		t.Fatal(err)
	}
	// Prepare refuses an unknown plugin without the retry.
	_, err := r.info.New().Prepare(ctx, r.invocation("run-nope", `{"plugin": "nope"}`), nil, false)
	var final *job.FailError
	if !errors.As(err, &final) || !errors.Is(err, ErrUnknownPlugin) {
		t.Fatalf("Prepare of an unknown plugin: %v", err)
	}
}
