package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/pluginrun"
	"github.com/weftdata/weft/internal/store"
)

// python is the interpreter's real path: plugins get a scrubbed
// environment, in which a pyenv shim cannot find its interpreter.
func python(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is needed by the plugin tests: %v", err)
		}
		t.Skip("python3 is not on PATH: skipping the plugin end-to-end tests (they fail under CI=true)")
	}
	return strings.TrimSpace(string(out))
}

// pythonPlugin starts a plugins: section with the plugin name run by
// python3 on script (relative to this package); the caller appends the
// plugin's other keys, indented by four spaces.
func pythonPlugin(t *testing.T, name, script string) string {
	t.Helper()
	py := python(t)
	abs, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("plugins:\n  - name: %s\n    command: [%q, %q]\n", name, py, abs)
}

// pluginServer starts weft on demo data (stitched, attributes calculated)
// with the plugins section added to the demo config, and extra serve flags.
func pluginServer(t *testing.T, backend string, customers int, plugins string, extra ...string) (args []string, base string, srv *proc) {
	t.Helper()
	dir := t.TempDir()
	cfgPath, eventsPath := writeDemo(t, dir, demo.Options{Customers: customers, Seed: 21})
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, append(cfg, []byte("\n"+plugins)...), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base = "http://" + addr
	args = append(serveArgs(t, backend, addr), "--config", cfgPath, "--stitch-interval", "-1s", "--job-lease", "2s")
	args = append(args, extra...)
	srv = start(t, args...)
	waitHealthy(t, base, srv)
	ingestFile(t, base, eventsPath, 120*time.Second)
	c := client.New(base, "")
	if _, err := c.Stitch(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CalculateAttributes(context.Background(), attr.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	return args, base, srv
}

// buildLikelihood builds the Go example plugin and returns its path.
func buildLikelihood(t *testing.T) string {
	t.Helper()
	cl := filepath.Join(t.TempDir(), "conversion-likelihood")
	if msg, err := exec.Command("go", "build", "-o", cl, "../../examples/plugins/conversion-likelihood").CombinedOutput(); err != nil {
		t.Fatalf("build the example plugin: %v\n%s", err, msg)
	}
	return cl
}

func runCLI(t *testing.T, within time.Duration, args ...string) (int, string) {
	t.Helper()
	p := start(t, args...)
	code := p.wait(t, within)
	return code, p.stdout.String() + p.stderr.String()
}

// TestExamplePluginsEndToEnd runs both shipped example plugins as a user
// would, through weft.yaml and the CLI, and finds their properties on
// profiles.
func TestExamplePluginsEndToEnd(t *testing.T) {
	py := python(t)
	cl := buildLikelihood(t)
	rfm, err := filepath.Abs("../../examples/plugins/rfm/main.py")
	if err != nil {
		t.Fatal(err)
	}
	plugins := fmt.Sprintf(`plugins:
  - name: conversion-likelihood
    command: [%q]
    goal: {event: shop/purchase/1-0-0}
    features: [{attribute: page_views}, {attribute: devices}, {attribute: favorite_page_category}, {attribute: newsletter}]
    variables:
      - {name: max_batch_size, default: 1000}
      - {name: iterations, optional: true}
    stage_timeout: 5m
  - name: rfm
    command: [%q, %q]
    features: [{attribute: last_purchase_date}, {attribute: orders}, {attribute: total_spend}]
    variables: [{name: max_batch_size, default: 1000}]
    schedule: "0 0 3 * * ?"
`, cl, py, rfm)
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			_, base, _ := pluginServer(t, backend, 1500, plugins)
			ctx := context.Background()
			c := client.New(base, "")

			code, out := runCLI(t, 30*time.Second, "plugins", "list", "--server", base)
			if code != 0 || !strings.Contains(out, "conversion-likelihood  shop/purchase/1-0-0") || !strings.Contains(out, "rfm  ") || !strings.Contains(out, "0 0 3 * * ?") {
				t.Fatalf("plugins list:\n%s", out)
			}
			runs := map[string]string{}
			for _, name := range []string{"conversion-likelihood", "rfm"} {
				args := []string{"plugins", "run", name, "--wait", "--server", base}
				if name == "conversion-likelihood" {
					args = append(args, "--param", "iterations=200")
				}
				code, out := runCLI(t, 5*time.Minute, args...)
				if code != 0 || !strings.Contains(out, "COMPLETE (succeeded)") || !batchesAll.MatchString(out) {
					t.Fatalf("plugins run %s:\n%s", name, out)
				}
				runs[name] = strings.SplitN(out, "\n", 2)[0]
			}
			// An unknown variable is refused before a run exists.
			if code, out := runCLI(t, 30*time.Second, "plugins", "run", "rfm", "--param", "nope=1", "--server", base); code == 0 || !strings.Contains(out, `unknown variable "nope"`) {
				t.Fatalf("unknown variable: %d %s", code, out)
			}

			// The run as the API shows it: stages, batches, results data.
			raw, err := c.PluginRun(ctx, runs["conversion-likelihood"])
			if err != nil {
				t.Fatal(err)
			}
			var run struct {
				Status      string            `json:"status"`
				Phase       string            `json:"phase"`
				InputParams map[string]any    `json:"inputParams"`
				Data        map[string]any    `json:"data"`
				Processes   []json.RawMessage `json:"processes"`
				Batches     struct {
					Done  int   `json:"done"`
					Users int64 `json:"users"`
				} `json:"batches"`
			}
			if err := json.Unmarshal(raw, &run); err != nil {
				t.Fatal(err)
			}
			if run.Status != store.RunComplete || run.Phase != "succeeded" || run.Batches.Done < 2 || run.Data["summary"] == nil ||
				len(run.Processes) != 1+run.Batches.Done || run.InputParams["iterations"] != 200.0 || run.InputParams["max_batch_size"] != 1000.0 {
				t.Fatalf("run: %s", raw)
			}

			// Properties on profiles: every live entity has a score and a segment.
			for entity, props := range entityProperties(t, c, 50) {
				var score, segment any
				for id, raw := range props {
					var v any
					if err := json.Unmarshal(raw, &v); err != nil {
						t.Fatal(err)
					}
					switch {
					case strings.HasPrefix(id, "conversion-likelihood/") && strings.HasSuffix(id, "/conversion_likelihood"):
						score = v
					case strings.HasPrefix(id, "rfm/") && strings.HasSuffix(id, "/rfm_segment"):
						segment = v
					}
				}
				f, ok := score.(float64)
				if !ok || f < 0 || f > 1 || segment == nil {
					t.Fatalf("entity %s properties: %v", entity, props)
				}
			}

			code, out = runCLI(t, 30*time.Second, "plugins", "runs", "--server", base)
			if code != 0 || !regexp.MustCompile(runs["rfm"]+` +plugin:rfm +COMPLETE`).MatchString(out) ||
				!regexp.MustCompile(runs["conversion-likelihood"]+` +plugin:conversion-likelihood +COMPLETE`).MatchString(out) {
				t.Fatalf("plugins runs:\n%s", out)
			}
			code, out = runCLI(t, 30*time.Second, "plugins", "logs", runs["conversion-likelihood"], "--server", base)
			if code != 0 || !strings.Contains(out, "batch staged") || !strings.Contains(out, "stream=stderr") {
				t.Fatalf("plugins logs:\n%s", out)
			}

			// Local development: a manifest with working URLs, run by hand.
			work := t.TempDir()
			for _, stage := range []string{"initial", "batch"} {
				args := []string{"plugins", "manifest", "conversion-likelihood", "--stage", stage, "--server", base}
				if stage == "batch" {
					args = append(args, "--results", filepath.Join(work, "results.json"))
				}
				code, out := runCLI(t, 60*time.Second, args...)
				if code != 0 {
					t.Fatalf("manifest %s: %s", stage, out)
				}
				if err := os.WriteFile(filepath.Join(work, "manifest.json"), []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(cl, "manifest.json", "results.json")
				cmd.Dir = work
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("run %s by hand: %v\n%s", stage, err, msg)
				}
			}
			if b, err := os.ReadFile(filepath.Join(work, "data.json")); err != nil || !strings.Contains(string(b), `"conversion_likelihood"`) {
				t.Fatalf("data.json by hand: %v %.200s", err, b)
			}
		})
	}
}

// TestPluginBatchFailsAndResumes: a failing batch fails the run and
// publishes nothing; a run whose server is killed in the middle of a
// batch resumes after the restart, without redoing the batches done.
func TestPluginBatchFailsAndResumes(t *testing.T) {
	plugins := pythonPlugin(t, "batches", "testdata/plugins/batches.py") + `    variables:
      - {name: log, type: text, optional: true}
      - {name: fail_batch, default: -1}
      - {name: sleep, default: 0}
      - {name: mode, type: text, optional: true}
`
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			args, base, srv := pluginServer(t, backend, 1500, plugins)
			ctx := context.Background()
			c := client.New(base, "")
			log := filepath.Join(t.TempDir(), "batches.log")

			// Batch 1 fails: the run fails with the plugin's status, and
			// batch 0's staged updates are never published.
			code, out := runCLI(t, 2*time.Minute, "plugins", "run", "batches", "--param", "fail_batch=1", "--param", "log="+log, "--wait", "--server", base)
			if code != 1 || !strings.Contains(out, "stage batch-1 failed: error") || !strings.Contains(out, "title: Batch broke") ||
				!strings.Contains(out, "explanation: batch 1 was told to fail") || !strings.Contains(out, "ERROR (failed)") {
				t.Fatalf("failing run: %d\n%s", code, out)
			}
			if b, _ := os.ReadFile(log); string(b) != "start 0\nstart 1\n" { // 3 batches or more: none after the failure
				t.Fatalf("batches started: %q (a failed stage is not retried)", b)
			}
			if code, out := runCLI(t, 30*time.Second, "notifications", "--level", "error", "--server", base); code != 0 || !strings.Contains(out, "Plugin run failed") {
				t.Fatalf("notifications:\n%s", out)
			}
			if props := properties(t, base); len(props) != 0 {
				t.Fatalf("a failed run published %v", props)
			}
			// A batch size out of bounds fails the run with a clear message.
			code, out = runCLI(t, 2*time.Minute, "plugins", "run", "batches", "--param", "mode=bad_size", "--wait", "--server", base)
			if code != 1 || !strings.Contains(out, "stage initial failed") || !strings.Contains(out, "batches.maxBatchSize is 999: it must be a whole number from 1,000 to 10,000,000") {
				t.Fatalf("maxBatchSize 999: %d\n%s", code, out)
			}
			// A percentile dataset needs a goal: the run fails, naming it.
			code, out = runCLI(t, 2*time.Minute, "plugins", "run", "batches", "--param", "mode=bad_moment", "--wait", "--server", base)
			if code != 1 || !strings.Contains(out, "stages.evaluate.datasets.p.moment: a percentile moment needs an event goal") {
				t.Fatalf("percentile without a goal: %d\n%s", code, out)
			}
			// Additional stages run after initial; the batches object of
			// train_more wins, and its upload reaches the batches; evaluate
			// reads a dataset at a moment (checked by the plugin).
			code, out = runCLI(t, 2*time.Minute, "plugins", "run", "batches", "--param", "mode=stages", "--wait", "--server", base)
			if code != 0 || !strings.Contains(out, "COMPLETE (succeeded)") {
				t.Fatalf("additional stages: %d\n%s", code, out)
			}
			raw, err := c.PluginRun(ctx, strings.SplitN(out, "\n", 2)[0])
			if err != nil {
				t.Fatal(err)
			}
			var staged struct {
				Stages []struct {
					Name   string         `json:"name"`
					Status string         `json:"status"`
					Data   map[string]any `json:"data"`
				} `json:"stages"`
				Batches struct {
					From string `json:"from"`
				} `json:"batches"`
				Datasets map[string]int64 `json:"datasets"`
				Moments  map[string]struct {
					Type    string  `json:"type"`
					Seconds float64 `json:"seconds"`
				} `json:"moments"`
			}
			if err := json.Unmarshal(raw, &staged); err != nil {
				t.Fatal(err)
			}
			if len(staged.Stages) != 3 || staged.Stages[1].Name != "evaluate" || staged.Stages[1].Data["auc"] != 0.5 || staged.Stages[2].Name != "train_more" ||
				staged.Stages[2].Status != "succeeded" || staged.Batches.From != "train_more" || len(staged.Datasets) != 4 ||
				len(staged.Moments) != 1 || staged.Moments["early"].Type != "since" || staged.Moments["early"].Seconds != 3600 {
				t.Fatalf("run with stages: %s", raw)
			}

			// Killed in the middle of batch 1: batch 0 is not redone,
			// batch 1 is, and the run publishes once.
			os.Remove(log)
			run, err := c.RunPlugin(ctx, "batches", map[string]any{"log": log, "sleep": 4})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, 60*time.Second, "batch 1 to start", func() bool {
				b, _ := os.ReadFile(log)
				return strings.Contains(string(b), "start 1")
			})
			restart(t, srv, base, args)
			var v struct {
				Status  string `json:"status"`
				Phase   string `json:"phase"`
				Batches struct {
					Done    int   `json:"done"`
					Updates int64 `json:"updates"`
					Users   int64 `json:"users"`
				} `json:"batches"`
				Published struct {
					Properties map[string]int64 `json:"properties"`
				} `json:"published"`
			}
			if err := json.Unmarshal(waitRunEnd(t, c, run.ID, 90*time.Second), &v); err != nil {
				t.Fatal(err)
			}
			want := "start 0\nstart 1\nstart 1\n"
			for i := 2; i < v.Batches.Done; i++ {
				want += fmt.Sprintf("start %d\n", i)
			}
			if b, _ := os.ReadFile(log); v.Status != store.RunComplete || v.Batches.Done < 2 || string(b) != want {
				t.Fatalf("after the restart: %+v; batches started:\n%s", v, b)
			}
			props := properties(t, base)
			if len(props) != 2 || len(v.Published.Properties) != 1 || v.Batches.Updates != v.Batches.Users {
				t.Fatalf("properties %v, run %+v", props, v)
			}
			for id, n := range v.Published.Properties {
				if !strings.HasPrefix(id, "batches/") || n != v.Batches.Users || props[id] != n {
					t.Fatalf("property %s on %d users; run %+v; properties %v", id, n, v, props)
				}
			}
		})
	}
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
	}
}

// restart kills the server with SIGKILL, as a crash would, and starts it
// again with the same arguments.
func restart(t *testing.T, srv *proc, base string, args []string) *proc {
	t.Helper()
	srv.kill()
	srv = start(t, args...)
	waitHealthy(t, base, srv)
	return srv
}

// waitRunEnd polls a plugin run until it is complete or in error and
// returns it as GET /v1/plugins/runs/{id} shows it.
func waitRunEnd(t *testing.T, c *client.Client, id string, within time.Duration) json.RawMessage {
	t.Helper()
	var raw json.RawMessage
	waitFor(t, within, "the end of run "+id, func() bool {
		var err error
		if raw, err = c.PluginRun(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		var v struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		return v.Status == store.RunComplete || v.Status == store.RunError
	})
	return raw
}

var batchesAll = regexp.MustCompile(`batches: (\d+) of ([2-9]|\d\d)`)

// entityProperties reads the plugin properties of the first entities,
// as entity id → property id → value.
func entityProperties(t *testing.T, c *client.Client, limit int) map[string]map[string]json.RawMessage {
	t.Helper()
	ctx := context.Background()
	page, err := c.Entities(ctx, "", limit)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]json.RawMessage{}
	for _, e := range page.Entities {
		full, err := c.Entity(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[e.ID] = full.Properties
	}
	if len(out) == 0 {
		t.Fatal("no entities")
	}
	return out
}

// properties reads GET /v1/properties as id → users.
func properties(t *testing.T, base string) map[string]int64 {
	t.Helper()
	code, out := httpGet(t, base+"/v1/properties")
	if code != 200 {
		t.Fatalf("GET /v1/properties: %d %s", code, out)
	}
	var body struct {
		Properties []struct {
			ID       string `json:"id"`
			Entities int64  `json:"entities"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out), &body); err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, p := range body.Properties {
		m[p.ID] = p.Entities
	}
	return m
}

// httpGet GETs a URL and returns the status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	status, _, body := httpDo(t, http.MethodGet, url, "", nil)
	return status, string(body)
}

// TestPluginHyperParameters runs the Go example over a grid of l2 and
// iterations: the initial stage once per variation (initial-v<k>), the
// best score wins, and the batches score users with the winner's model
// (downloadUrls.initial is the winner's folder) and inputParams.
func TestPluginHyperParameters(t *testing.T) {
	cl := buildLikelihood(t)
	plugins := fmt.Sprintf(`plugins:
  - name: tuned
    command: [%q]
    goal: {attribute: total_spend, op: ">", value: 100}
    features: [{attribute: page_views}, {attribute: devices}, {attribute: favorite_page_category}, {attribute: newsletter}]
    variables: [{name: max_batch_size, default: 1000}]
    hyperparameters:
      - {name: l2, spec: "float 0,1000"}
      - {name: iterations, spec: "integer 1:300", steps: 2}
`, cl)
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			_, base, _ := pluginServer(t, backend, 1500, plugins)
			c := client.New(base, "")
			code, out := runCLI(t, 5*time.Minute, "plugins", "run", "tuned", "--wait", "--server", base)
			if code != 0 || !strings.Contains(out, "COMPLETE (succeeded)") {
				t.Fatalf("plugins run tuned:\n%s", out)
			}
			raw, err := c.PluginRun(context.Background(), strings.SplitN(out, "\n", 2)[0])
			if err != nil {
				t.Fatal(err)
			}
			var run struct {
				Phase       string         `json:"phase"`
				InputParams map[string]any `json:"inputParams"`
				GridSize    int            `json:"gridSize"`
				Best        *int           `json:"best"`
				Variations  []struct {
					Stage  string         `json:"stage"`
					Params map[string]any `json:"params"`
					Status string         `json:"status"`
					Score  *float64       `json:"score"`
				} `json:"variations"`
				Processes []struct {
					Stage string `json:"stage"`
				} `json:"processes"`
				Batches struct {
					Done int `json:"done"`
				} `json:"batches"`
				Published struct {
					Properties map[string]int64 `json:"properties"`
				} `json:"published"`
			}
			if err := json.Unmarshal(raw, &run); err != nil {
				t.Fatal(err)
			}
			if run.Phase != "succeeded" || run.GridSize != 4 || len(run.Variations) != 4 || run.Best == nil || run.Batches.Done < 2 || len(run.Published.Properties) != 1 {
				t.Fatalf("run: %s", raw)
			}
			best := 0
			for k, v := range run.Variations {
				if v.Stage != fmt.Sprintf("initial-v%d", k) || v.Status != "succeeded" || v.Score == nil {
					t.Fatalf("variation %d: %+v\n%s", k, v, raw)
				}
				if *v.Score > *run.Variations[best].Score {
					best = k
				}
			}
			want := []map[string]any{{"l2": 0.0, "iterations": 1.0}, {"l2": 0.0, "iterations": 300.0}, {"l2": 1000.0, "iterations": 1.0}, {"l2": 1000.0, "iterations": 300.0}}
			for k := range want {
				if !reflect.DeepEqual(run.Variations[k].Params, want[k]) {
					t.Fatalf("variation %d params %v, want %v", k, run.Variations[k].Params, want[k])
				}
			}
			if *run.Best != best || run.InputParams["l2"] != want[best]["l2"] || run.InputParams["iterations"] != want[best]["iterations"] || run.InputParams["max_batch_size"] != 1000.0 {
				t.Fatalf("best %d (want %d), inputParams %v", *run.Best, best, run.InputParams)
			}
			var stages []string
			for _, p := range run.Processes {
				stages = append(stages, p.Stage)
			}
			// Variations run two at a time, so two that start together may
			// be listed in either order: the first four are the variations.
			first := slices.Clone(stages[:min(4, len(stages))])
			slices.Sort(first)
			if len(stages) < 6 || strings.Join(first, " ") != "initial-v0 initial-v1 initial-v2 initial-v3" || slices.Contains(stages, "initial") {
				t.Fatalf("processes: %v", stages)
			}
		})
	}
}

// pluginStorage is the plugin storage folder of a server started with
// args: --plugin-storage file://..., or <data>/plugin-storage.
func pluginStorage(t *testing.T, args []string) string {
	t.Helper()
	dir := ""
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--plugin-storage":
			return strings.TrimPrefix(args[i+1], "file://")
		case "--data":
			dir = filepath.Join(args[i+1], "plugin-storage")
		}
	}
	if dir == "" {
		t.Fatalf("no plugin storage in %v", args)
	}
	return dir
}

// TestPluginVariationsResumeAfterKill kills the server (SIGKILL) while the
// initial stage's variations run two at a time: after the restart the
// finished variations are not run again, the interrupted one is, the
// best one wins, the batches read its model, and the other variations'
// files are deleted. Then a user fixes a hyper-parameter with --param.
func TestPluginVariationsResumeAfterKill(t *testing.T) {
	plugins := pythonPlugin(t, "tuned", "testdata/plugins/tuned.py") + `    variables:
      - {name: log, type: text}
      - {name: slow, default: -1}
      - {name: sleep, default: 0}
      - {name: target, default: 4}
    hyperparameters:
      - {name: x, spec: "integer 1,2,3,4", allow_override: true}
      - {name: r, spec: "float 0:1"}
    max_variations: 4
`
	type variation = pluginrun.Variation
	type pluginRun struct {
		Status      string         `json:"status"`
		Phase       string         `json:"phase"`
		InputParams map[string]any `json:"inputParams"`
		Best        *int           `json:"best"`
		Variations  []variation    `json:"variations"`
		Batches     struct {
			Done  int   `json:"done"`
			Users int64 `json:"users"`
		} `json:"batches"`
		Published struct {
			Properties map[string]int64 `json:"properties"`
		} `json:"published"`
	}
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			args, base, srv := pluginServer(t, backend, 1500, plugins)
			ctx := context.Background()
			c := client.New(base, "")
			log := filepath.Join(t.TempDir(), "tuned.log")

			// x = 3 (variation 2) sleeps: variation 3 finishes while it
			// runs, and the server is killed then.
			run, err := c.RunPlugin(ctx, "tuned", map[string]any{"log": log, "slow": 3, "sleep": 8})
			if err != nil {
				t.Fatal(err)
			}
			var before pluginRun
			waitFor(t, 60*time.Second, "variation 3 to be recorded while variation 2 runs", func() bool {
				raw, err := c.PluginRun(ctx, run.ID)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(raw, &before); err != nil {
					t.Fatal(err)
				}
				return len(before.Variations) == 4 && before.Variations[3].Status == "succeeded"
			})
			for k, want := range []string{"succeeded", "succeeded", "running", "succeeded"} {
				if before.Variations[k].Status != want {
					t.Fatalf("before the kill, variation %d is %s, want %s: %+v", k, before.Variations[k].Status, want, before.Variations)
				}
			}
			restart(t, srv, base, args)

			var after pluginRun
			if err := json.Unmarshal(waitRunEnd(t, c, run.ID, 120*time.Second), &after); err != nil {
				t.Fatal(err)
			}
			if after.Status != store.RunComplete || after.Best == nil || *after.Best != 3 || after.Batches.Done < 2 ||
				after.InputParams["x"] != 4.0 || after.InputParams["r"] != before.Variations[3].Params["r"] {
				t.Fatalf("after the restart: %+v", after)
			}
			for k, v := range after.Variations {
				r, ok := v.Params["r"].(float64)
				if v.Status != "succeeded" || v.Params["x"] != float64(k+1) || !ok || r < 0 || r >= 1 ||
					*v.Score != -float64(3-k) || k != 2 && !reflect.DeepEqual(v, before.Variations[k]) {
					t.Fatalf("variation %d after the restart: %+v (before: %+v)", k, v, before.Variations[k])
				}
			}
			// Started once each, but variation 2 twice (with the same draw
			// of r, from the checkpoint).
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			starts := map[string]int{}
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "start ") {
					starts[line]++
				}
			}
			want := map[string]int{}
			for k, v := range after.Variations {
				want[fmt.Sprintf("start %d x=%d r=%s", k, k+1, strconv.FormatFloat(v.Params["r"].(float64), 'g', -1, 64))] = map[bool]int{true: 2, false: 1}[k == 2]
			}
			if !reflect.DeepEqual(starts, want) {
				t.Fatalf("variations started %v, want %v; log:\n%s", starts, want, b)
			}
			// The batches wrote the winner's model on every user.
			if len(after.Published.Properties) != 1 {
				t.Fatalf("published %v", after.Published.Properties)
			}
			for id, n := range after.Published.Properties {
				if !strings.HasPrefix(id, "tuned/") || !strings.HasSuffix(id, "/model") || n != after.Batches.Users {
					t.Fatalf("property %s on %d users of %d", id, n, after.Batches.Users)
				}
				for entity, props := range entityProperties(t, c, 20) {
					if got := string(props[id]); got != `"variation 3 x=4"` {
						t.Fatalf("entity %s: %s = %s", entity, id, got)
					}
				}
			}
			// Only the winner's files are left.
			files, err := filepath.Glob(filepath.Join(pluginStorage(t, args), run.ID, "initial-v*", "*"))
			if err != nil {
				t.Fatal(err)
			}
			var models []string
			for _, f := range files {
				if !strings.HasSuffix(f, ".attrs") { // fileblob's metadata beside each file
					models = append(models, f)
				}
			}
			if len(models) != 1 || filepath.Base(filepath.Dir(models[0])) != "initial-v3" || filepath.Base(models[0]) != "model.txt" {
				t.Fatalf("variation files left: %v", models)
			}

			// A user fixes x (allow_override): only r varies.
			code, out := runCLI(t, 2*time.Minute, "plugins", "run", "tuned", "--param", "x=2", "--param", "log="+log, "--wait", "--server", base)
			if code != 0 || !strings.Contains(out, "COMPLETE (succeeded)") {
				t.Fatalf("plugins run --param x=2: %d\n%s", code, out)
			}
			raw, err := c.PluginRun(ctx, strings.SplitN(out, "\n", 2)[0])
			if err != nil {
				t.Fatal(err)
			}
			var fixed pluginRun
			if err := json.Unmarshal(raw, &fixed); err != nil {
				t.Fatal(err)
			}
			if len(fixed.Variations) != 4 || fixed.InputParams["x"] != 2.0 {
				t.Fatalf("run with x fixed: %s", raw)
			}
			for k, v := range fixed.Variations {
				if _, varied := v.Params["x"]; varied || v.Params["r"] == nil || *v.Score != -2 {
					t.Fatalf("variation %d with x fixed: %+v", k, v)
				}
			}
			// r does not allow an override.
			code, out = runCLI(t, 30*time.Second, "plugins", "run", "tuned", "--param", "r=0.5", "--param", "log="+log, "--server", base)
			if code == 0 || !strings.Contains(out, "r is an auto-optimized hyper-parameter of plugin tuned without allow_override: true") {
				t.Fatalf("plugins run --param r=0.5: %d\n%s", code, out)
			}
		})
	}
}
