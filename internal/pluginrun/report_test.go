package pluginrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/job"
)

// reportPlugin declares a report plugin run by sh that writes results
// as results.json, with MANIFEST replaced by the manifest it got.
func reportPlugin(t *testing.T, dir, name, results string) string {
	t.Helper()
	script := filepath.Join(dir, name+".sh")
	if err := os.WriteFile(script+".json", []byte(results), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("sed \"s|MANIFEST|$(tr -d '\\n' < \"$1\")|\" \"$0.json\" > \"$2\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`  - name: %s
    kind: report
    command: ["/bin/sh", %q]
    variables: [{name: periods, default: 7}]
    report:
      format: timeseries
      events: [web/page_view/1-0-0]
      group_by: [payload.url]
      values: [events, users]
      inputs: [{name: forecast_value, value_index: 1}, {name: url, group_by_index: 0}]
      date_ranges: [{from: "2024-01-01", to: "2024-01-06"}]
`, name, script)
}

// TestReportRun runs report plugins as real processes over a real store:
// the manifest of the spec's §12, the report its dataUrl serves, the
// results (data and visualisation) kept in the run; bad results.json is
// refused with a status that says why.
func TestReportRun(t *testing.T) {
	ok := `{"status":{"code":"success"},"data":{"manifest":MANIFEST},"js":"return {n: results.data.manifest.inputParams.periods}","jsx":"<Insight>{data.n}</Insight>","helper":"class { render() { return 1; } }","unknown":1}`
	bad := map[string]string{
		"stages":  `{"status":{"code":"success"},"data":{},"stages":{"more":{}}}`,
		"batches": `{"status":{"code":"success"},"batches":{"maxBatchSize":1000}}`,
		"http":    `{"status":{"code":"success"},"http":{"startServerCmd":"x"}}`,
		"jsnum":   `{"status":{"code":"success"},"js":5}`,
		"jsxobj":  `{"status":{"code":"success"},"jsx":{"a":1}}`,
		"nul":     `{"status":{"code":"success"},"helper":"class {}\u0000"}`,
		"nostat":  `{"data":{}}`,
		"deep":    strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		"array":   `[1,2]`,
		"own":     `{"status":{"code":"error","title":"No data","explanation":"too few points"}}`,
	}
	want := map[string]string{
		"stages":  "stage report failed: Invalid results: results.json has stages: a report plugin has no stages, batches or http",
		"batches": "stage report failed: Invalid results: results.json has batches: a report plugin",
		"http":    "stage report failed: Invalid results: results.json has http: a report plugin",
		"jsnum":   "stage report failed: Invalid results: results.json's js must be text (JavaScript source) or null, not 5",
		"jsxobj":  `stage report failed: Invalid results: results.json's jsx must be text (JavaScript source) or null, not {"a":1}`,
		"nul":     `stage report failed: Invalid results: results.json's helper holds a NUL character (\u0000)`,
		"nostat":  "stage report failed: Invalid results: results.json has no status",
		"deep":    "stage report failed: Invalid results: results.json is not a JSON object: invalid character '[' exceeded max depth",
		"array":   "stage report failed: Invalid results: results.json is not a JSON object",
		"own":     "stage report failed: No data: too few points",
	}
	dir := t.TempDir()
	yaml := "plugins:\n" + reportPlugin(t, dir, "report", ok)
	for name, res := range bad {
		yaml += reportPlugin(t, dir, name, res)
	}
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			r := newRunnerWith(t, backend, yaml)
			j := r.info.New()
			st, err := j.Prepare(ctx, r.invocation("run-report", `{"plugin": "report", "inputParams": {"periods": 3}}`), nil, false)
			if err != nil {
				t.Fatal(err)
			}
			s := r.state(st)
			if s.Phase != PhaseInitial || len(s.Stages) != 1 || s.Stages[0].Name != "report" || s.Report == nil ||
				s.Report.Periods[0].Label != "Jan 1, 2024 - Jan 6, 2024" || len(s.Variations) != 0 {
				t.Fatalf("after Prepare: %s", st.State)
			}
			st = r.perform(j, st)
			if s = r.state(st); s.Phase != PhasePublish || s.Stages[0].Status != plugin.StatusSucceeded || s.Stages[0].Visualization == nil ||
				*s.Stages[0].Visualization.JSX != "<Insight>{data.n}</Insight>" || *s.Stages[0].Visualization.Helper != "class { render() { return 1; } }" {
				t.Fatalf("after the report stage: %s", st.State)
			}
			var data struct {
				Manifest map[string]json.RawMessage `json:"manifest"`
			}
			if err := json.Unmarshal(s.Stages[0].Data, &data); err != nil {
				t.Fatal(err)
			}
			m := data.Manifest
			keys := []string{}
			for k := range m {
				keys = append(keys, k)
			}
			if len(m) != 5 || string(m["inputParams"]) != `{"periods":3.0}` ||
				string(m["inputData"]) != `{"forecast_value":{"type":"number","valueIndex":1},"url":{"groupByIndex":0,"type":"text"}}` {
				t.Fatalf("manifest keys %v: %s", keys, s.Stages[0].Data)
			}
			// dataUrl serves the run's report.
			var u string
			json.Unmarshal(m["dataUrl"], &u) //nolint:errcheck // checked below
			_, rest, _ := strings.Cut(u, plugin.PathPrefix)
			tok, _, err := r.svc.Parse("GET", rest)
			if err != nil || tok.Kind != plugin.KindData || tok.Run != "run-report" || tok.Scope != plugin.ReportKey {
				t.Fatalf("dataUrl %s: %+v %v", u, tok, err)
			}
			var doc bytes.Buffer
			if _, err := r.svc.WriteDataset(ctx, tok, plugin.FullRange, &doc); err != nil || !strings.HasPrefix(doc.String(), `{"context":{`) ||
				!strings.Contains(doc.String(), `"dataFormat":"timeseries"`) || !strings.Contains(doc.String(), `"data":[]`) {
				t.Fatalf("report: %v %s", err, doc.String())
			}
			for _, k := range []string{"downloadUrl", "getUploadUrl"} {
				if !strings.Contains(string(m[k]), "/report/") {
					t.Errorf("%s: %s", k, m[k])
				}
			}
			st = r.perform(j, st)
			if s = r.state(st); s.Phase != PhaseSucceeded || !st.Complete {
				t.Fatalf("after publishing: %s", st.State)
			}
			if n := r.notes.last(t); n.Level != job.LevelSuccess || n.Title != "Plugin run succeeded" {
				t.Fatalf("notification %+v", n)
			}

			for name, msg := range want {
				j := r.info.New()
				st, err := j.Prepare(ctx, r.invocation("run-"+name, `{"plugin": "`+name+`"}`), nil, false)
				if err != nil {
					t.Fatal(err)
				}
				st = r.perform(j, st)
				if s := r.state(st); s.Phase != PhaseFailed || s.Failure == nil || s.Failure.Stage != "report" {
					t.Fatalf("%s: %s", name, st.State)
				}
				_, err = j.Perform(ctx, st)
				var final *job.FailError
				if !errors.As(err, &final) || !strings.Contains(err.Error(), msg) {
					t.Errorf("%s: %v\nwant %q", name, err, msg)
				}
			}
		})
	}
}

// TestReportManifest: the development manifest of a report plugin (the
// spec's §13 get_manifest without a stage) and the refusals of the wrong
// kind of manifest.
func TestReportManifest(t *testing.T) {
	ctx := context.Background()
	yaml := "plugins:\n" + reportPlugin(t, t.TempDir(), "report", "{}") + "  - name: intel\n    command: [x]\n"
	r := newRunnerWith(t, "duckdb", yaml)
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReportManifest(ctx, r.svc, cfg, ReportManifestParams{Plugin: "report"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.DataURL, "/plugin/data/dev-report/report/") || m.InputParams["periods"] != 7.0 || len(m.InputData) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	d, err := r.svc.DatasetGet(ctx, DevRun("report"), plugin.ReportKey)
	if err != nil || d.Report == nil || d.Report.Spec.Format != "timeseries" {
		t.Fatalf("dev report: %+v %v", d, err)
	}
	// Uploads are open for its stage, as for a development manifest.
	if _, err := r.svc.UploadURL(ctx, plugin.Token{Kind: plugin.KindUploadURL, Run: DevRun("report"), Scope: plugin.ReportKey}, "x.json"); err != nil {
		t.Fatalf("upload url: %v", err)
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{second(ReportManifest(ctx, r.svc, cfg, ReportManifestParams{Plugin: "intel"})), "plugin intel is an intelligence plugin (ask for stage initial or batch)"},
		{second(ReportManifest(ctx, r.svc, cfg, ReportManifestParams{Plugin: "nope"})), `unknown plugin "nope"`},
		{second(ReportManifest(ctx, r.svc, cfg, ReportManifestParams{Plugin: "report", Answers: map[string]any{"x": 1.0}})), `invalid inputParams: plugin report: unknown variable "x"`},
		{second(DevManifest(ctx, r.svc, cfg, DevManifestParams{Plugin: "report", Stage: "initial"})), "plugin report is a report plugin (ask for stage report)"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want %q", c.err, c.want)
		}
	}
	if err := second(DevManifest(ctx, r.svc, cfg, DevManifestParams{Plugin: "report", Stage: "initial"})); !errors.Is(err, ErrBadStage) {
		t.Errorf("a staged manifest of a report plugin: %v, want ErrBadStage", err)
	}
}

func second[T any](_ T, err error) error { return err }
