package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/demo"
)

// TestReportPluginEndToEnd runs the example report plugin (forecast) as a
// user would: declared in weft.yaml, run through the CLI by weft serve,
// its results read from GET /v1/plugins/runs/{id}/results, and run by hand
// from a development manifest. Its weekly purchase counts add up to the
// demo's purchases in the date range, counted from the generator.
func TestReportPluginEndToEnd(t *testing.T) {
	py := python(t)
	main, err := filepath.Abs("../../examples/plugins/forecast/main.py")
	if err != nil {
		t.Fatal(err)
	}
	plugins := fmt.Sprintf(`plugins:
  - name: forecast
    kind: report
    command: [%q, %q]
    variables: [{name: forecast_periods, default: 4}]
    report:
      format: timeseries
      time_unit: week
      events: [shop/purchase/1-0-0]
      values: [users, events]
      inputs: [{name: forecast_value, value_index: 1}]
      date_ranges: [{from: "2026-01-05", to: "2026-03-29"}]
  - name: not-a-series
    kind: report
    command: [%q, %q]
    report: {format: users, events: [shop/purchase/1-0-0], date_ranges: [{from: "2026-01-01", to: "2026-03-31"}]}
`, py, main, py, main)
	const customers = 200
	from, to := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)
	purchases := map[string]bool{}
	for e := range demo.Events(demo.Options{Customers: customers, Seed: 21}) {
		if e.SourceID == "shop" && e.Type == "purchase" && !e.EventTime.Before(from) && e.EventTime.Before(to) {
			purchases[e.ID+e.EventTime.String()] = true
		}
	}
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			_, base, _ := pluginServer(t, backend, customers, plugins)
			code, out := runCLI(t, 2*time.Minute, "plugins", "run", "forecast", "--param", "forecast_periods=3", "--wait", "--server", base)
			if code != 0 || !strings.Contains(out, "COMPLETE (succeeded)") {
				t.Fatalf("plugins run forecast:\n%s", out)
			}
			run := strings.SplitN(out, "\n", 2)[0]

			status, body := httpGet(t, base+"/v1/plugins/runs/"+run+"/results")
			var res struct {
				Run, Plugin, Kind, Stage string
				JS, JSX, Helper          string
				Data                     struct {
					Value   string `json:"value"`
					Periods int    `json:"periods"`
					Series  []struct {
						History  [][2]any `json:"history"`
						Total    float64  `json:"total"`
						Forecast [][2]any `json:"forecast"`
					} `json:"series"`
				}
				Report struct {
					Periods []struct{ From, To time.Time }
				}
			}
			if status != 200 || json.Unmarshal([]byte(body), &res) != nil {
				t.Fatalf("results: %d %s", status, body)
			}
			if res.Run != run || res.Plugin != "forecast" || res.Kind != "report" || res.Stage != "report" ||
				res.JSX != "<Insight>{ results.helpers.renderTable() }</Insight>" || !strings.HasPrefix(res.Helper, "class {") || res.JS == "" ||
				res.Data.Value != "Total of Event Count" || res.Data.Periods != 3 || len(res.Data.Series) != 1 ||
				len(res.Report.Periods) != 1 || !res.Report.Periods[0].From.Equal(from) || !res.Report.Periods[0].To.Equal(to) {
				t.Fatalf("results: %s", body)
			}
			s := res.Data.Series[0]
			// 2026-01-05 is a Monday: 12 whole weeks, then 3 forecast.
			if len(s.History) != 12 || s.History[0][0] != "2026-01-05T00:00:00Z" || len(s.Forecast) != 3 || s.Forecast[0][0] != "2026-03-30T00:00:00Z" ||
				s.Total != float64(len(purchases)) || len(purchases) == 0 {
				t.Fatalf("series: %+v; want a total of %d purchases", s, len(purchases))
			}

			// A run that failed has no results: 409, saying why.
			code, out = runCLI(t, 2*time.Minute, "plugins", "run", "not-a-series", "--wait", "--server", base)
			if code == 0 || !strings.Contains(out, "Unsupported report") {
				t.Fatalf("plugins run not-a-series:\n%d %s", code, out)
			}
			failed := strings.SplitN(out, "\n", 2)[0]
			status, body = httpGet(t, base+"/v1/plugins/runs/"+failed+"/results")
			if status != 409 || !strings.Contains(body, `"no_results"`) || !strings.Contains(body, "its stage report failed: Unsupported report") {
				t.Fatalf("results of a failed run: %d %s", status, body)
			}
			if status, body = httpGet(t, base+"/v1/plugins/runs/nope/results"); status != 404 {
				t.Fatalf("results of no run: %d %s", status, body)
			}

			// By hand: the development manifest, then the plugin.
			code, out = runCLI(t, time.Minute, "plugins", "manifest", "forecast", "--stage", "report", "--server", base)
			if code != 0 || !strings.Contains(out, `"dataUrl"`) || !strings.Contains(out, `"forecast_periods": 4.0`) {
				t.Fatalf("plugins manifest --stage report:\n%s", out)
			}
			work := t.TempDir()
			if err := os.WriteFile(filepath.Join(work, "manifest.json"), []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(py, main, "manifest.json", "results.json")
			cmd.Dir = work
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("run by hand: %v\n%s", err, msg)
			}
			if b, err := os.ReadFile(filepath.Join(work, "results.json")); err != nil || !strings.Contains(string(b), fmt.Sprintf(`"total": %d.0`, len(purchases))) {
				t.Fatalf("results by hand: %v %.300s", err, b)
			}
			for _, c := range []struct {
				body, want string
			}{
				{`{"inputParams": {"forecast_periods": "\ud800"}}`, "half of a UTF-16 surrogate pair without the other half"},
				{`{"inputParams": {"x\u0000": 1}}`, `which cannot be stored`},
				{`{"inputParams": {"forecast_periods": "many"}}`, `forecast_periods: \"many\" is not a number`},
				{`{"inputParams": {"x": 1}}`, `unknown variable \"x\"`},
				{`{"inputParams": {"forecast_periods": 1e999}}`, ""},
				{strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000), ""},
			} {
				status, _, b := httpDo(t, http.MethodPost, base+"/v1/plugins/forecast/manifest?stage=report", "", []byte(c.body))
				if status != 400 || !strings.Contains(string(b), c.want) {
					t.Errorf("manifest with %.60s: %d %s", c.body, status, b)
				}
			}
		})
	}
}
