package trackplan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/weftdata/weft/internal/blobimport" // the blob_import job
	"github.com/weftdata/weft/internal/cli"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/roundtrip"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/trackplan"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// start runs weft serve on the backend, importing from importDir.
func start(t *testing.T, backend, importDir string) *server.Server {
	t.Helper()
	cfg := server.Config{Addr: "127.0.0.1:0", StitchInterval: -1, DataDir: t.TempDir(), ImportFolders: []string{importDir},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if backend == "postgres" {
		cfg.DB = pgtest.URL(t)
	}
	s, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	return s
}

// plan is the weft.yaml of the tests: web signups must carry an e-mail,
// shop purchases a total of at least 0; web is in modeWeb, shop flags.
func plan(modeWeb string) string {
	return `
tracking_plan:
  modes: {web: ` + modeWeb + `, shop: flag}
  events:
    - event: web/signup
      schema:
        type: object
        required: [email]
        properties:
          email: {type: string, format: email}
          plan: {type: string, pattern: "^[a-z]+$"}
          score: {type: number, maximum: 100}
    - event: shop/purchase/1
      schema:
        type: object
        required: [total]
        properties: {total: {type: number, minimum: 0}}
`
}

func record(id, source, typ, payload string) string {
	return fmt.Sprintf(`{"id":%q,"source_id":%q,"type":%q,"version":"1","event_time":"2026-03-01T10:00:00Z","payload":%s}`, id, source, typ, payload)
}

type ingestAnswer struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   []struct {
		Index int    `json:"index"`
		Field string `json:"field"`
		Error string `json:"error"`
	} `json:"rejected"`
}

func ingest(t *testing.T, s *server.Server, records ...string) ingestAnswer {
	t.Helper()
	a := roundtrip.Do(t, http.MethodPost, s.URL()+"/v1/events", []byte(strings.Join(records, "\n")), "Content-Type", "application/x-ndjson")
	if a.Status != http.StatusOK {
		t.Fatalf("POST /v1/events: %d %s", a.Status, a.Body)
	}
	var out ingestAnswer
	if err := json.Unmarshal(a.Body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func apply(t *testing.T, s *server.Server, doc string) {
	t.Helper()
	if a := roundtrip.Do(t, http.MethodPut, s.URL()+"/v1/config", []byte(doc)); a.Status != http.StatusOK {
		t.Fatalf("PUT /v1/config: %d %s", a.Status, a.Body)
	}
}

func violations(t *testing.T, s *server.Server, query string) trackplan.Report {
	t.Helper()
	a := roundtrip.Do(t, http.MethodGet, s.URL()+"/v1/tracking-plan/violations"+query, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("GET violations%s: %d %s", query, a.Status, a.Body)
	}
	var r trackplan.Report
	if err := json.Unmarshal(a.Body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// counts renders the counts as "type rule mode n" lines.
func counts(r trackplan.Report) string {
	var lines []string
	for _, c := range r.Counts {
		lines = append(lines, fmt.Sprintf("%s %s %s %d", c.EventType, c.Rule, c.Mode, c.Count))
	}
	return strings.Join(lines, "\n")
}

func storedIDs(t *testing.T, s *server.Server) map[string]bool {
	t.Helper()
	events, err := s.Store.EventList(context.Background(), &store.EventListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range events {
		ids[e.ID] = true
	}
	return ids
}

// metric reads one series of GET /metrics, -1 when absent.
func metric(t *testing.T, s *server.Server, series string) float64 {
	t.Helper()
	a := roundtrip.Do(t, http.MethodGet, s.URL()+"/metrics", nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(a.Body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRejectFlagOff: through real HTTP on both backends, reject refuses the
// bad records with the schema path and keeps the good ones beside them,
// flag stores and records, off checks nothing; the plan changes at apply
// without a restart; the violations API, the CLI and the metric agree.
func TestRejectFlagOff(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := start(t, backend, t.TempDir())
			apply(t, s, plan("reject"))
			res := ingest(t, s,
				record("w-good", "web", "signup", `{"email":"a@example.com","plan":"pro"}`),
				record("w-noemail", "web", "signup", `{"plan":"pro"}`),
				record("w-bademail", "web", "signup", `{"email":"alice-secret-value"}`),
				record("s-good", "shop", "purchase", `{"total":3.5}`),
				record("s-negative", "shop", "purchase", `{"total":-1}`),
				record("o-any", "crm", "signup", `{"whatever":true}`),
				record("w-other", "web", "page_view", `{"no":"schema"}`),
			)
			if res.Accepted != 5 || len(res.Rejected) != 2 {
				t.Fatalf("answer %+v, want 5 accepted and 2 rejected", res)
			}
			want := []struct {
				index int
				msg   string
			}{
				{1, `payload: tracking plan of web/signup/1: at /, schema /required failed: missing properties "email"`},
				{2, `payload: tracking plan of web/signup/1: at /email, schema /properties/email/format failed: must be a valid email`},
			}
			for i, w := range want {
				if r := res.Rejected[i]; r.Index != w.index || r.Field != "payload" || r.Error != w.msg {
					t.Errorf("rejection %d: %+v, want index %d %q", i, r, w.index, w.msg)
				}
			}
			ids := storedIDs(t, s)
			for id, stored := range map[string]bool{"w-good": true, "w-noemail": false, "w-bademail": false, "s-good": true, "s-negative": true, "o-any": true, "w-other": true} {
				if ids[id] != stored {
					t.Errorf("event %s stored: %v, want %v", id, ids[id], stored)
				}
			}
			r := violations(t, s, "")
			wantCounts := "shop/purchase/1 /properties/total/minimum flag 1\nweb/signup/1 /properties/email/format reject 1\nweb/signup/1 /required reject 1"
			if got := counts(r); got != wantCounts {
				t.Errorf("counts:\n%s\nwant:\n%s", got, wantCounts)
			}
			if len(r.Examples) != 3 {
				t.Fatalf("examples %+v", r.Examples)
			}
			for _, x := range r.Examples {
				if x.EventID == "s-negative" && (x.Source != "shop" || x.Mode != trackplan.ModeFlag || x.InstancePath != "/total" || x.Message != "must be >= 0" ||
					!x.EventTime.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) || time.Since(x.RecordedAt) > time.Minute) {
					t.Errorf("example %+v", x)
				}
				if strings.Contains(x.Message, "alice-secret-value") {
					t.Errorf("an example holds a payload value: %+v", x)
				}
			}
			// Filters: a type with and without its version, and since.
			if got := counts(violations(t, s, "?type=shop/purchase")); got != "shop/purchase/1 /properties/total/minimum flag 1" {
				t.Errorf("type=shop/purchase: %s", got)
			}
			if r := violations(t, s, "?type=web/signup/1"); len(r.Counts) != 2 || len(r.Examples) != 2 {
				t.Errorf("type=web/signup/1: %+v", r)
			}
			if r := violations(t, s, "?since="+time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339)); len(r.Counts) != 0 || len(r.Examples) != 0 {
				t.Errorf("since later: %+v", r)
			}
			a := roundtrip.Do(t, http.MethodGet, s.URL()+"/v1/tracking-plan/violations?since=yesterday", nil)
			if a.Status != http.StatusBadRequest || !bytes.Contains(a.Body, []byte(`"since must be an RFC 3339 time`)) {
				t.Errorf("since=yesterday: %d %s", a.Status, a.Body)
			}
			if v := metric(t, s, `weft_tracking_plan_violations_total{event_type="web/signup/1",mode="reject"}`); v != 2 {
				t.Errorf("reject metric %v, want 2", v)
			}
			if v := metric(t, s, `weft_tracking_plan_violations_total{event_type="shop/purchase/1",mode="flag"}`); v != 1 {
				t.Errorf("flag metric %v, want 1", v)
			}
			// The CLI reads the same.
			var out, errOut bytes.Buffer
			if code := cli.Main([]string{"tracking-plan", "violations", "--type", "web/signup", "--since", "1h", "--json", "--server", s.URL()}, &out, &errOut); code != 0 {
				t.Fatalf("weft tracking-plan violations: exit %d %s", code, errOut.String())
			}
			var fromCLI trackplan.Report
			if err := json.Unmarshal(out.Bytes(), &fromCLI); err != nil || len(fromCLI.Counts) != 2 || len(fromCLI.Examples) != 2 {
				t.Errorf("CLI --json: %v %s", err, out.String())
			}
			out.Reset()
			if code := cli.Main([]string{"tracking-plan", "violations", "--server", s.URL()}, &out, &errOut); code != 0 ||
				!strings.Contains(out.String(), "/properties/total/minimum") || !strings.Contains(out.String(), "s-negative") {
				t.Errorf("CLI table: exit %d\n%s", code, out.String())
			}

			// Off at apply, no restart: the same bad record is stored and
			// nothing is recorded.
			apply(t, s, plan("off"))
			if res := ingest(t, s, record("w-noemail-2", "web", "signup", `{"plan":"pro"}`)); res.Accepted != 1 || len(res.Rejected) != 0 {
				t.Errorf("mode off: %+v", res)
			}
			// Flag: stored and recorded.
			apply(t, s, plan("flag"))
			if res := ingest(t, s, record("w-noemail-3", "web", "signup", `{"plan":"pro"}`)); res.Accepted != 1 || len(res.Rejected) != 0 {
				t.Errorf("mode flag: %+v", res)
			}
			want = nil
			wantCounts = "web/signup/1 /properties/email/format reject 1\nweb/signup/1 /required flag 1\nweb/signup/1 /required reject 1"
			if got := counts(violations(t, s, "?type=web/signup")); got != wantCounts {
				t.Errorf("after off and flag:\n%s\nwant:\n%s", got, wantCounts)
			}
			// A plan without the section checks nothing.
			apply(t, s, "stitching: {rules: []}\n")
			if res := ingest(t, s, record("w-noemail-4", "web", "signup", `{"plan":"pro"}`)); res.Accepted != 1 {
				t.Errorf("no plan: %+v", res)
			}
			if v := metric(t, s, `weft_tracking_plan_violations_total{event_type="web/signup/1",mode="flag"}`); v != 1 {
				t.Errorf("flag metric %v, want 1", v)
			}
		})
	}
}

// TestBadPlanChangesNothing: a plan refused at apply leaves the one in
// force checking.
func TestBadPlanChangesNothing(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := start(t, backend, t.TempDir())
			apply(t, s, plan("reject"))
			for _, bad := range []string{
				strings.Replace(plan("reject"), "minimum: 0", `minimum: "0"`, 1),
				strings.Replace(plan("reject"), "properties: {total: {type: number, minimum: 0}}", `$ref: "file:///etc/passwd"`, 1),
				strings.Replace(plan("reject"), "properties: {total: {type: number, minimum: 0}}", `$ref: "http://127.0.0.1:9/schema.json"`, 1),
				strings.Replace(plan("reject"), "reject", "strict", 1),
			} {
				a := roundtrip.Do(t, http.MethodPut, s.URL()+"/v1/config", []byte(bad))
				if a.Status != http.StatusBadRequest || !bytes.Contains(a.Body, []byte("tracking_plan.")) {
					t.Errorf("PUT a bad plan: %d %s", a.Status, a.Body)
				}
			}
			a := roundtrip.Do(t, http.MethodPut, s.URL()+"/v1/config", []byte(strings.Replace(plan("reject"), "minimum: 0", `minimum: "0"`, 1)))
			if !bytes.Contains(a.Body, []byte(`tracking_plan.events[shop/purchase/1].schema: at '/properties/total/minimum': got string, want number`)) {
				t.Errorf("the error names the entry and the schema path: %s", a.Body)
			}
			if res := ingest(t, s, record("w-noemail", "web", "signup", `{}`)); len(res.Rejected) != 1 {
				t.Errorf("the plan in force no longer rejects: %+v", res)
			}
		})
	}
}

// TestHostilePayloads: deep nesting, huge numbers, lone surrogates and NUL
// characters meet a schema without harm, each judged alone, the good
// record beside them kept.
func TestHostilePayloads(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := start(t, backend, t.TempDir())
			apply(t, s, plan("reject"))
			deep := `{"email":"a@example.com","x":` + strings.Repeat(`[`, 5000) + strings.Repeat(`]`, 5000) + `}`
			res := ingest(t, s,
				record("deep", "web", "signup", deep),
				record("huge", "web", "signup", `{"email":"a@example.com","score":1e999}`),
				record("long", "web", "signup", `{"email":"a@example.com","score":`+strings.Repeat("9", 900)+`}`),
				record("surrogate", "web", "signup", `{"email":"a@example.com","plan":"\ud800abc"}`),
				record("pair", "web", "signup", `{"email":"a@example.com","plan":"ab\ud83d\ude00"}`),
				record("nul", "web", "signup", `{"email":"a\u0000@example.com"}`),
				record("tiny", "web", "signup", `{"email":"a@example.com","score":-1e-999}`),
				record("good", "web", "signup", `{"email":"a@example.com","plan":"pro","score":99.5}`),
			)
			got := map[int]string{}
			for _, r := range res.Rejected {
				got[r.Index] = r.Error
			}
			for i, want := range map[int]string{
				0: "schema / failed: nested deeper than 64 levels: not checked",
				1: "at /score, schema /properties/score/maximum failed: must be <= 100",
				2: "at /score, schema /properties/score/maximum failed: must be <= 100",
				// Lone surrogates and NUL never reach the plan: the ingester
				// refuses them first, as it always did.
				3: `payload: contains \ud800, half of a UTF-16 surrogate pair`,
				4: `at /plan, schema /properties/plan/pattern failed: must match the pattern "^[a-z]+$"`,
				5: `payload: contains \u0000, which cannot be stored`,
			} {
				if !strings.Contains(got[i], want) {
					t.Errorf("record %d: %q, want %q", i, got[i], want)
				}
			}
			if res.Accepted != 2 || len(res.Rejected) != 6 {
				t.Errorf("answer %+v, want the tiny and the good record accepted", res)
			}
			if ids := storedIDs(t, s); !ids["good"] || !ids["tiny"] || len(ids) != 2 {
				t.Errorf("stored %v", ids)
			}
		})
	}
}

// TestExamplesBounded: counts go on, examples stop at ExamplesKept per
// rule, newest kept; a retried batch adds no example.
func TestExamplesBounded(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := start(t, backend, t.TempDir())
			apply(t, s, plan("reject"))
			for batch := 0; batch < 3; batch++ {
				var recs []string
				for i := 0; i < 15; i++ {
					recs = append(recs, record(fmt.Sprintf("b%d-%02d", batch, i), "shop", "purchase", `{"total":-5}`))
				}
				if res := ingest(t, s, recs...); res.Accepted != 15 {
					t.Fatalf("batch %d: %+v", batch, res)
				}
			}
			r := violations(t, s, "")
			if got := counts(r); got != "shop/purchase/1 /properties/total/minimum flag 45" {
				t.Errorf("counts %s", got)
			}
			if len(r.Examples) != trackplan.ExamplesKept || r.Examples[0].EventID != "b2-14" {
				t.Errorf("%d examples, the first %+v", len(r.Examples), r.Examples[0])
			}
			if r := violations(t, s, "?limit=5"); len(r.Examples) != 5 {
				t.Errorf("limit=5: %d examples", len(r.Examples))
			}
		})
	}
}

// TestBlobImport: events imported by the blob_import job are checked as
// POST /v1/events checks them.
func TestBlobImport(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			lines := strings.Join([]string{
				record("i-good", "web", "signup", `{"email":"a@example.com"}`),
				record("i-bad", "web", "signup", `{"email":7}`),
				record("i-flag", "shop", "purchase", `{"total":-2}`),
			}, "\n") + "\n"
			if err := os.WriteFile(filepath.Join(dir, "events.ndjson"), []byte(lines), 0o644); err != nil {
				t.Fatal(err)
			}
			s := start(t, backend, dir)
			apply(t, s, plan("reject")+fmt.Sprintf("jobs:\n  events_import:\n    job: blob_import\n    parameters: {source: %q, format: ndjson, target: events}\n", "file://"+dir))
			a := roundtrip.Do(t, http.MethodPost, s.URL()+"/v1/jobs/events_import/runs", []byte(`{}`))
			if a.Status/100 != 2 {
				t.Fatalf("trigger: %d %s", a.Status, a.Body)
			}
			var run store.JobRun
			if err := json.Unmarshal(a.Body, &run); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				a = roundtrip.Do(t, http.MethodGet, s.URL()+"/v1/jobs/runs/"+run.ID, nil)
				if err := json.Unmarshal(a.Body, &run); err != nil {
					t.Fatal(err)
				}
				if jobrunner.Finished(run.Status) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the import did not end: %s", a.Body)
				}
			}
			ids := storedIDs(t, s)
			if !ids["i-good"] || ids["i-bad"] || !ids["i-flag"] {
				t.Errorf("stored %v (run %s %s)", ids, run.Status, run.Checkpoint)
			}
			want := "shop/purchase/1 /properties/total/minimum flag 1\nweb/signup/1 /properties/email/type reject 1"
			if got := counts(violations(t, s, "")); got != want {
				t.Errorf("counts:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
