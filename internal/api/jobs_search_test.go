package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/store"
)

// TestJobsSearch: GET /v1/jobs/runs takes since and until (the runs'
// creation), GET /v1/jobs/runs/{id}/logs takes grep, since and until, as
// `ocp jobs list --from` and `ocp app logs --search --from --to` do; the
// other parameters keep working with them.
func TestJobsSearch(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			first := waitRun(t, s, decode[store.JobRun](t, s.do(t, "POST", "/v1/jobs/api_test_steps/runs", nil, []byte(`{"steps": 5}`))).ID)
			time.Sleep(5 * time.Millisecond)
			second := waitRun(t, s, decode[store.JobRun](t, s.do(t, "POST", "/v1/jobs/api_test_steps/runs", nil, []byte(`{"steps": 1}`))).ID)
			runs := func(q string) string {
				t.Helper()
				r := s.do(t, "GET", "/v1/jobs/runs?"+q, nil, nil)
				if r.status != 200 {
					t.Fatalf("%s: %d %s", q, r.status, r.body)
				}
				var ids []string
				for _, run := range decode[struct{ Runs []store.JobRun }](t, r).Runs {
					ids = append(ids, map[string]string{first.ID: "first", second.ID: "second"}[run.ID])
				}
				return strings.Join(ids, " ")
			}
			at := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }
			for q, want := range map[string]string{
				"job=api_test_steps":                                                    "second first",
				"since=" + at(second.CreatedAt):                                         "second",
				"until=" + at(second.CreatedAt):                                         "first",
				"since=" + at(first.CreatedAt) + "&limit=1":                             "second",
				"since=" + at(second.CreatedAt.Add(time.Hour)):                          "",
				"until=" + at(second.CreatedAt) + "&status=complete&job=api_test_steps": "first",
				"until=" + at(second.CreatedAt) + "&job=other":                          "",
			} {
				if got := runs(q); got != want {
					t.Errorf("runs?%s = %q, want %q", q, got, want)
				}
			}

			logs := func(q string) []store.JobLog {
				t.Helper()
				r := s.do(t, "GET", "/v1/jobs/runs/"+first.ID+"/logs?"+q, nil, nil)
				if r.status != 200 {
					t.Fatalf("%s: %d %s", q, r.status, r.body)
				}
				return decode[struct{ Logs []store.JobLog }](t, r).Logs
			}
			all := logs("")
			if len(all) != 5 {
				t.Fatalf("logs: %+v", all)
			}
			fieldsOf := func(ls []store.JobLog) string {
				var out []string
				for _, l := range ls {
					out = append(out, string(l.Fields))
				}
				return strings.Join(out, " ")
			}
			for q, want := range map[string]string{
				"grep=" + url.QueryEscape(`"n":[24]\b`):                                   `{"n":2} {"n":4}`,
				"grep=" + url.QueryEscape(`^step$`) + "&limit=2":                          `{"n":1} {"n":2}`,
				"grep=" + url.QueryEscape(`(?i)STEP`) + "&after=" + fmt.Sprint(all[3].ID): `{"n":5}`,
				"grep=nothing":           ``,
				"grep=step&level=info":   ``,
				"since=" + at(all[2].At): `{"n":3} {"n":4} {"n":5}`,
				"until=" + at(all[2].At): `{"n":1} {"n":2}`,
				"since=" + at(all[1].At) + "&until=" + at(all[3].At) + "&grep=" + url.QueryEscape(`[23]`): `{"n":2} {"n":3}`,
			} {
				if got := fieldsOf(logs(q)); got != want {
					t.Errorf("logs?%s = %s, want %s", q, got, want)
				}
			}

			// Bad requests name the parameter and what is wrong.
			base := "/v1/jobs/runs/" + first.ID + "/logs?"
			expectError(t, s.do(t, "GET", base+"grep=(", nil, nil), 400, "bad_request", `grep "(" is not a regular expression: error parsing regexp: missing closing ): `)
			expectError(t, s.do(t, "GET", base+"grep="+strings.Repeat("a", 1001), nil, nil), 400, "bad_request", "grep is 1001 bytes long; at most 1000")
			expectError(t, s.do(t, "GET", base+"grep=%ED%A0%80", nil, nil), 400, "bad_request", "is not a regular expression: error parsing regexp: invalid UTF-8")
			expectError(t, s.do(t, "GET", base+"since=yesterday", nil, nil), 400, "bad_request", `since must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got "yesterday"`)
			expectError(t, s.do(t, "GET", base+"until=2h", nil, nil), 400, "bad_request", `until must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got "2h"`)
			expectError(t, s.do(t, "GET", base+"since=%00", nil, nil), 400, "bad_request", `since must be an RFC 3339 time`)
			expectError(t, s.do(t, "GET", base+"since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", nil, nil), 400, "bad_request", "since (2026-12-02T00:00:00Z) must be before until (2026-12-01T00:00:00Z)")
			expectError(t, s.do(t, "GET", base+"since=99999-01-01T00:00:00Z", nil, nil), 400, "bad_request", "since must be an RFC 3339 time")
			expectError(t, s.do(t, "GET", "/v1/jobs/runs?since=2026-12-01", nil, nil), 400, "bad_request", `since must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got "2026-12-01"`)
			expectError(t, s.do(t, "GET", "/v1/jobs/runs?since=2026-12-01T00:00:00Z&until=2026-12-01T00:00:00Z", nil, nil), 400, "bad_request", "must be before until")
			expectError(t, s.do(t, "GET", "/v1/jobs/runs/nope/logs?grep=(", nil, nil), 404, "not_found", "run nope")
		})
	}
}

// TestJobsPerformTimeoutDeclared: weft.yaml's perform_timeout reaches the
// runner: a registered job whose Performs wait for their context overruns
// the declared deadline three times in a row and ends terminated, its log
// saying so each time.
func TestJobsPerformTimeoutDeclared(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte("jobs:\n  waiter: {job: api_test_steps, perform_timeout: soon, parameters: {steps: 1}}\n")), 400, "invalid_config",
				`jobs.waiter.perform_timeout: "soon" must be a positive duration, as 90s or 5m, or none`)
			if r := s.do(t, "PUT", "/v1/config", nil, []byte("jobs:\n  waiter: {job: api_test_steps, perform_timeout: 200ms, parameters: {steps: 1, wait: true}}\n")); r.status != 200 {
				t.Fatalf("apply: %s", r.body)
			}
			run := waitRun(t, s, decode[store.JobRun](t, s.do(t, "POST", "/v1/jobs/waiter/runs", nil, nil)).ID)
			if run.Status != "terminated" || run.Errors[len(run.Errors)-1] != "perform 1 exceeded its deadline of 200ms 3 times in a row" || run.CompletedAt == nil {
				t.Fatalf("run: %+v", run)
			}
			warns := decode[struct{ Logs []store.JobLog }](t, s.do(t, "GET", "/v1/jobs/runs/"+run.ID+"/logs?level=warn&grep=deadline", nil, nil)).Logs
			if len(warns) != 3 || warns[0].Level != "warn" || warns[2].Level != "error" || !strings.Contains(warns[0].Message, "ran past its deadline and was cancelled; the run resumes from its last checkpoint") {
				t.Fatalf("log: %+v", warns)
			}
		})
	}
}
