package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftdata/weft/examples/plugins/conversion-likelihood/likelihood"
)

// deployment is a deployment as the API shows it.
type deployment struct {
	Plugin    string `json:"plugin"`
	Run       string `json:"run"`
	Status    string `json:"status"`
	Port      int    `json:"port"`
	PID       int    `json:"pid"`
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error"`
}

// runDeployment reads GET /v1/plugins/runs/{id}'s deployment.
func runDeployment(t *testing.T, base, run string) *deployment {
	t.Helper()
	code, out := httpGet(t, base+"/v1/plugins/runs/"+run)
	if code != 200 {
		t.Fatalf("GET run %s: %d %s", run, code, out)
	}
	var v struct {
		Deployment *deployment `json:"deployment"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	return v.Deployment
}

// waitDeployment waits until the run's deployment satisfies ok.
func waitDeployment(t *testing.T, base, run, what string, ok func(d *deployment) bool) *deployment {
	t.Helper()
	var d *deployment
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if d = runDeployment(t, base, run); d != nil && ok(d) {
			return d
		}
	}
	t.Fatalf("run %s: the deployment never was %s: %+v", run, what, d)
	return nil
}

func deployed(d *deployment) bool { return d.Status == "deployed" }

// pluginDeployment reads a plugin's deployment from GET /v1/plugins.
func pluginDeployment(t *testing.T, base, name string) *deployment {
	t.Helper()
	code, out := httpGet(t, base+"/v1/plugins")
	if code != 200 {
		t.Fatalf("GET /v1/plugins: %d %s", code, out)
	}
	var v struct {
		Plugins []struct {
			Name       string      `json:"name"`
			Deployment *deployment `json:"deployment"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range v.Plugins {
		if p.Name == name {
			return p.Deployment
		}
	}
	t.Fatalf("no plugin %s in %s", name, out)
	return nil
}

// alive reports whether a process (or, for a negative pid, a process
// group) exists.
func alive(pid int) bool { return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// predict posts a prediction and decodes its JSON answer.
func predict(t *testing.T, url, body string, out any) {
	t.Helper()
	status, hdr, raw := httpDo(t, http.MethodPost, url, "", []byte(body))
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("POST %s: %d %s %s", url, status, hdr.Get("Content-Type"), raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("POST %s: %v: %s", url, err, raw)
	}
}

// TestPluginDeploy deploys the Go example (over two hyper-parameter
// variations) and a Python test plugin with the real weft serve: a
// successful run's http starts its server, predictions are proxied to
// it, a server that exits or fails its status checks is restarted, a
// newer run replaces the deployment, one that never gets healthy is
// deploy_failed with its stderr, and the servers stop with weft.
// deployStartTimeout is TestPluginDeploy's --plugin-deploy-start-timeout.
const deployStartTimeout = "20s"

func TestPluginDeploy(t *testing.T) {
	py := python(t)
	cl := buildLikelihood(t)
	script, err := filepath.Abs("testdata/plugins/deploy.py")
	if err != nil {
		t.Fatal(err)
	}
	plugins := fmt.Sprintf(`plugins:
  - name: scorer
    command: [%q]
    goal: {event: shop/purchase/1-0-0}
    features: [{attribute: page_views}, {attribute: devices}, {attribute: favorite_page_category}, {attribute: newsletter}]
    variables: [{name: max_batch_size, default: 1000}]
    hyperparameters: [{name: iterations, spec: "integer 1,200"}]
  - name: echo
    command: [%q, %q]
    variables: [{name: mode, type: text, default: echo}]
`, cl, py, script)
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			// The start timeout is what a loaded 2-core machine needs to
			// start a Python server (4s was not); the server that never
			// answers takes that long to fail.
			args, base, srv := pluginServer(t, backend, 400, plugins, "--plugin-deploy-check-interval", "300ms",
				"--plugin-deploy-start-timeout", deployStartTimeout, "--plugin-deploy-max-restarts", "3")

			// Nothing deployed yet: 503, from the API and the CLI.
			status, _, raw := httpDo(t, http.MethodPost, base+"/v1/plugins/scorer/predict", "", []byte(`{}`))
			if status != 503 || !strings.Contains(string(raw), `"no_deployment"`) || !strings.Contains(string(raw), "plugin scorer has no deployment up") {
				t.Fatalf("predict before a run: %d %s", status, raw)
			}
			if code, out := runCLI(t, 30*time.Second, "plugins", "predict", "scorer", "--server", base); code == 0 || !strings.Contains(out, "503 no_deployment") {
				t.Fatalf("plugins predict before a run: %d %s", code, out)
			}
			if status, _, raw := httpDo(t, http.MethodPost, base+"/v1/plugins/nope/predict", "", []byte(`{}`)); status != 404 {
				t.Fatalf("predict of an undeclared plugin: %d %s", status, raw)
			}

			// The example deploys the winning variation's model.
			code, out := runCLI(t, 3*time.Minute, "plugins", "run", "scorer", "--wait", "--server", base)
			if code != 0 || !strings.Contains(out, "COMPLETE (succeeded)") {
				t.Fatalf("plugins run scorer:\n%s", out)
			}
			run := strings.SplitN(out, "\n", 2)[0]
			d := waitDeployment(t, base, run, "deployed", deployed)
			if d.Port == 0 || d.PID == 0 || d.Restarts != 0 || d.Plugin != "scorer" {
				t.Fatalf("deployment %+v", d)
			}
			// Only Weft, which holds the deployment's token, may call it.
			for _, auth := range []string{"", "Bearer wrong"} {
				req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/status_check", d.Port), strings.NewReader("{}"))
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("a call of the deployed server with Authorization %q: %s, want 401", auth, resp.Status)
				}
			}
			var state struct {
				Best       int `json:"best"`
				Variations []struct {
					Stage string  `json:"stage"`
					Score float64 `json:"score"`
				} `json:"variations"`
			}
			_, rawRun := httpGet(t, base+"/v1/plugins/runs/"+run)
			if err := json.Unmarshal([]byte(rawRun), &state); err != nil || len(state.Variations) != 2 {
				t.Fatalf("run: %v %s", err, rawRun)
			}
			storage := filepath.Join(flagValue(args, "--data"), "plugin-storage")
			if s := flagValue(args, "--plugin-storage"); s != "" {
				storage = strings.TrimPrefix(s, "file://")
			}
			mb, err := os.ReadFile(filepath.Join(storage, run, state.Variations[state.Best].Stage, "model.json"))
			if err != nil {
				t.Fatal(err)
			}
			var model likelihood.Model
			if err := json.Unmarshal(mb, &model); err != nil {
				t.Fatal(err)
			}
			user := map[string]any{"feature_page_views": 42.0, "feature_devices": []any{"mobile", "web"},
				"feature_favorite_page_category": "shoes", "feature_newsletter": true}
			cols := model.Columns()
			model.Bind(cols)
			vals := make([]any, len(cols))
			for j, c := range cols {
				vals[j] = user[c]
			}
			want := math.Round(model.Score(likelihood.Row{Values: vals, Now: time.Now()})*1e6) / 1e6
			body, _ := json.Marshal(user)
			var answer struct {
				Score float64 `json:"score"`
				Model struct {
					Stage string  `json:"stage"`
					AUC   float64 `json:"auc"`
				} `json:"model"`
			}
			code, out = runCLI(t, 30*time.Second, "plugins", "predict", "scorer", "--data", string(body), "--server", base)
			if code != 0 || json.Unmarshal([]byte(out), &answer) != nil {
				t.Fatalf("plugins predict: %d %s", code, out)
			}
			best := state.Variations[state.Best].Score
			if answer.Score != want || answer.Model.Stage != "initial" || math.Abs(math.Round(answer.Model.AUC*1e6)/1e6-best) > 1e-9 {
				t.Fatalf("prediction %+v, want score %v from the model of %s (score %v)", answer, want, state.Variations[state.Best].Stage, best)
			}
			predict(t, base+"/api/plugins/scorer/deployments/"+run+"/predict", string(body), &answer) // the spec's route
			if answer.Score != want {
				t.Fatalf("spec route: %+v", answer)
			}
			if status, _, raw := httpDo(t, http.MethodPost, base+"/v1/plugins/scorer/predict", "", []byte(`{"a":`)); status != 400 || !strings.Contains(string(raw), "invalid_body") {
				t.Fatalf("predict with a broken body: %d %s", status, raw)
			}
			if status, _, raw := httpDo(t, http.MethodPost, base+"/v1/plugins/scorer/predict", "", make([]byte, 11<<20)); status != 413 {
				t.Fatalf("predict over the body bound: %d %.200s", status, raw)
			}

			// The server exits: weft restarts it on another process.
			if err := syscall.Kill(d.PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			d2 := waitDeployment(t, base, run, "restarted", func(x *deployment) bool { return deployed(x) && x.Restarts == 1 })
			if d2.PID == d.PID || !strings.Contains(d2.LastError, "the server exited") {
				t.Fatalf("after the exit: %+v", d2)
			}
			predict(t, base+"/v1/plugins/scorer/predict", string(body), &answer)
			if answer.Score != want {
				t.Fatalf("after the restart: %+v", answer)
			}

			// The Python plugin: the deploy manifest and environment, http
			// merged over its stages, the port substituted.
			code, out = runCLI(t, 2*time.Minute, "plugins", "run", "echo", "--wait", "--server", base)
			if code != 0 {
				t.Fatalf("plugins run echo:\n%s", out)
			}
			echo1 := strings.SplitN(out, "\n", 2)[0]
			e1 := waitDeployment(t, base, echo1, "deployed", deployed)
			var echo struct {
				Manifest map[string]json.RawMessage `json:"manifest"`
				Env      map[string]string          `json:"env"`
				Cwd      string                     `json:"cwd"`
				Port     int                        `json:"port"`
				Note     string                     `json:"note"`
			}
			predict(t, base+"/v1/plugins/echo/predict", `{"hello": 1}`, &echo)
			var downloads map[string]string
			json.Unmarshal(echo.Manifest["downloadUrls"], &downloads) //nolint:errcheck // checked below
			_, uploads := echo.Manifest["getUploadUrls"]
			_, data := echo.Manifest["dataUrls"]
			if string(echo.Manifest["stage"]) != `"deploy"` || len(downloads) != 2 || downloads["initial"] == "" || downloads["explainer"] == "" || uploads || data ||
				compact(echo.Manifest["options"]) != `{"greeting":"hi"}` || compact(echo.Manifest["inputParams"]) != `{"mode":"echo"}` || echo.Note != "from initial" {
				t.Fatalf("deploy manifest: %s", mustJSON(echo.Manifest))
			}
			if echo.Port != e1.Port || echo.Env["PORT"] != fmt.Sprint(e1.Port) || echo.Env["PLUGIN_MANIFEST"] != "manifest.json" || echo.Env["HOME"] != echo.Cwd {
				t.Fatalf("deployment %+v, server port %d, env %v", e1, echo.Port, echo.Env)
			}
			for k := range echo.Env {
				if strings.HasPrefix(k, "WEFT_") {
					t.Fatalf("weft's environment leaked into the server: %v", echo.Env)
				}
			}
			// Failing status checks restart it.
			predict(t, base+"/v1/plugins/echo/predict", `{"fail_status": true}`, &echo)
			e1b := waitDeployment(t, base, echo1, "restarted", func(x *deployment) bool { return deployed(x) && x.Restarts == 1 })
			if !strings.Contains(e1b.LastError, "status checks in a row failed") || e1b.PID == e1.PID || alive(e1.PID) {
				t.Fatalf("after failing checks: %+v (old pid %d alive %v)", e1b, e1.PID, alive(e1.PID))
			}

			// A second run replaces the deployment; the first one stops.
			code, out = runCLI(t, 2*time.Minute, "plugins", "run", "echo", "--wait", "--server", base)
			if code != 0 {
				t.Fatalf("second run of echo:\n%s", out)
			}
			echo2 := strings.SplitN(out, "\n", 2)[0]
			e2 := waitDeployment(t, base, echo2, "deployed", deployed)
			waitDeployment(t, base, echo1, "stopped", func(x *deployment) bool { return x.Status == "stopped" })
			if alive(e1b.PID) || pluginDeployment(t, base, "echo").Run != echo2 {
				t.Fatalf("the replaced server is alive (%v) or echo's deployment is not run %s: %+v", alive(e1b.PID), echo2, pluginDeployment(t, base, "echo"))
			}

			// A server that never answers: deploy_failed with its stderr,
			// and the deployment before it keeps serving.
			code, out = runCLI(t, 2*time.Minute, "plugins", "run", "echo", "--param", "mode=never", "--wait", "--server", base)
			if code != 0 {
				t.Fatalf("run of echo, mode never:\n%s", out)
			}
			never := strings.SplitN(out, "\n", 2)[0]
			f := waitDeployment(t, base, never, "deploy_failed", func(x *deployment) bool { return x.Status == "deploy_failed" })
			if !strings.Contains(f.LastError, "POST /status did not answer 200 within "+deployStartTimeout) || !strings.Contains(f.LastError, "no model here, not listening") || f.Restarts != 0 {
				t.Fatalf("never healthy: %+v", f)
			}
			predict(t, base+"/v1/plugins/echo/predict", `{}`, &echo)
			if pd := pluginDeployment(t, base, "echo"); pd.Run != echo2 || pd.Status != "deployed" {
				t.Fatalf("echo's deployment after a failed one: %+v", pd)
			}
			if code, out := runCLI(t, 30*time.Second, "plugins", "logs", never, "--server", base); code != 0 || !strings.Contains(out, "deployment failed") {
				t.Fatalf("logs of the failed deployment:\n%s", out)
			}

			// Shutdown stops the servers, process groups and all.
			pids := []int{runDeployment(t, base, run).PID, e2.PID}
			if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := srv.wait(t, 60*time.Second); code != 0 {
				t.Fatalf("exit %d after SIGTERM: %s", code, srv.stderr)
			}
			for _, pid := range pids {
				if alive(pid) || alive(-pid) {
					t.Fatalf("server process %d outlived weft", pid)
				}
			}

			// The next weft deploys the latest deployable run again.
			srv = start(t, args...)
			waitHealthy(t, base, srv)
			waitDeployment(t, base, run, "redeployed", deployed)
			predict(t, base+"/v1/plugins/scorer/predict", string(body), &answer)
			if answer.Score != want {
				t.Fatalf("after the restart of weft: %+v", answer)
			}
		})
	}
}

// flagValue is the value after a flag in args, "" if absent.
func flagValue(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

// compact is JSON without insignificant space (Python's json.dumps adds it).
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
