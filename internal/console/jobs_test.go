package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/job"
)

// hostile is a value a job logs, notifies and takes as a parameter: the
// pages must show it as text.
const hostile = `<script>alert("x")</script>`

// steps is a job of these tests: it logs one line per step (saying Say)
// and notifies at the end; with Wait it waits at each step for its
// context to end, to be terminated.
type steps struct {
	inv *job.Invocation
	p   stepsParams
}

type stepsParams struct {
	Steps int    `json:"steps"`
	Say   string `json:"say"`
	Wait  bool   `json:"wait"`
}

type stepsState struct {
	Done int `json:"done"`
}

func init() {
	job.Register(job.Typed[stepsParams, stepsState]("console_test_steps", "counts steps for the console's tests",
		func() *steps { return &steps{} }))
}

func (w *steps) Prepare(_ context.Context, inv *job.Invocation, p stepsParams, st *stepsState, _ bool) (bool, error) {
	w.inv, w.p = inv, p
	return st.Done >= p.Steps && !p.Wait, nil
}

func (w *steps) Perform(ctx context.Context, st *stepsState) (bool, error) {
	if w.p.Wait {
		w.inv.Log.Info("waiting to be terminated")
		<-ctx.Done()
		return false, ctx.Err()
	}
	st.Done++
	w.inv.Log.Info("step "+w.p.Say, "n", st.Done)
	if st.Done < w.p.Steps {
		return false, nil
	}
	return true, w.inv.Notify.Notify(ctx, job.Notification{Level: job.LevelSuccess, Activity: "Steps", Title: "Counted", Summary: "counted " + w.p.Say})
}

var runLocation = regexp.MustCompile(`^/console/jobs/runs/([0-9a-f-]+)$`)

// trigger posts the trigger form of a job and returns the new run's id.
func trigger(t *testing.T, b *browser, token, name, params string) string {
	t.Helper()
	status, loc, body := b.post("/console/jobs/"+name+"/runs", url.Values{"csrf_token": {token}, "parameters": {params}})
	m := runLocation.FindStringSubmatch(loc)
	if status != http.StatusSeeOther || m == nil {
		t.Fatalf("trigger %s %s: %d %q\n%s", name, params, status, loc, body)
	}
	return m[1]
}

// waitStatus waits until the run's status is one of want.
func waitStatus(t *testing.T, s *server.Server, id string, want ...string) *store.JobRun {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		run, err := s.Store.JobRunGet(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if run.Status == w {
				return run
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s, never %v", id, run.Status, want)
		}
	}
}

func countRuns(t *testing.T, s *server.Server, name string) int {
	t.Helper()
	runs, err := s.Store.JobRunList(context.Background(), &store.JobRunListParams{Job: name, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

// readOnly signs a new browser in with a key of the read scope only and
// returns it with its CSRF token.
func readOnly(t *testing.T, s *server.Server) (*browser, string) {
	t.Helper()
	_, secret, err := s.Keys.Create(context.Background(), keys.CreateParams{Name: "viewer", Scopes: []string{keys.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.URL())
	return b, b.signIn(secret)
}

func TestJobsTrigger(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, false)
			b := newBrowser(t, s.URL())
			token := b.signIn(adminKey)
			status, _, page := b.get("/console/jobs")
			if status != http.StatusOK {
				t.Fatalf("jobs: %d\n%s", status, page)
			}
			mustContain(t, page, `href="/console/jobs"`, ">stitching<", ">attributes<", ">console_test_steps<", "counts steps for the console",
				`action="/console/jobs/console_test_steps/runs"`, `name="parameters"`, `href="/console/notifications"`)

			// Bad parameters: a precise error, the text kept, nothing started.
			bad := []struct{ params, says string }{
				{`{"steps": 2,}`, "not valid JSON at line 1, column 13: invalid character &#39;}&#39;"},
				{"{\n  \"steps\": 2\n  \"say\": 1}", "not valid JSON at line 3, column 3"},
				{`{"steps": 2`, "the text ends at line 1, column 11, before the value is complete"},
				{`[1, 2]`, "must be a JSON object like {&#34;name&#34;: value}, not an array"},
				{`{"steps": 1} {}`, "must be one JSON object, but more follows at line 1, column 13"},
				{`{"steps": "many"}`, "The job refused the parameters: parameter steps: must be a whole number, not string"},
				{`{"stepz": 1}`, "parameter stepz: unknown parameter"},
				{`{"steps": 1, "note": "\ud800"}`, `contains \ud800, half of a UTF-16 surrogate pair`},
				{`{"steps": 1, "note": "a\u0000b"}`, `contains \u0000, which cannot be stored`},
			}
			for _, c := range bad {
				status, _, page := b.post("/console/jobs/console_test_steps/runs", url.Values{"csrf_token": {token}, "parameters": {c.params}})
				if status != http.StatusBadRequest || !strings.Contains(page, c.says) || !strings.Contains(page, "Nothing was started") {
					t.Errorf("parameters %s: %d, want 400 saying %q:\n%s", c.params, status, c.says, page)
				}
				mustContain(t, page, `aria-invalid="true"`, asTemplate(c.params))
			}
			if n := countRuns(t, s, "console_test_steps"); n != 0 {
				t.Fatalf("%d runs started by bad parameters", n)
			}
			if status, _, _ := b.post("/console/jobs/nope/runs", url.Values{"csrf_token": {token}}); status != http.StatusNotFound {
				t.Errorf("trigger of an unknown job: %d, want 404", status)
			}

			// CSRF and scope refusals start nothing.
			if status, _, _ := b.post("/console/jobs/console_test_steps/runs", url.Values{"parameters": {`{"steps": 1}`}}); status != http.StatusForbidden {
				t.Errorf("trigger without CSRF token: %d, want 403", status)
			}
			viewer, viewerToken := readOnly(t, s)
			if status, _, page := viewer.get("/console/jobs"); status != http.StatusOK || strings.Contains(page, `name="parameters"`) {
				t.Errorf("jobs page of a read-only key: %d, trigger forms shown: %v", status, strings.Contains(page, `name="parameters"`))
			}
			if status, _, page := viewer.post("/console/jobs/console_test_steps/runs", url.Values{"csrf_token": {viewerToken}, "parameters": {`{"steps": 1}`}}); status != http.StatusForbidden || !strings.Contains(page, "lacks the scope") {
				t.Errorf("trigger with a read-only key: %d\n%s", status, page)
			}
			if n := countRuns(t, s, "console_test_steps"); n != 0 {
				t.Fatalf("%d runs started by refused triggers", n)
			}

			// A good trigger goes to the run page; the run completes and
			// shows its status, parameters and log, escaped.
			params, _ := json.Marshal(stepsParams{Steps: 3, Say: hostile})
			id := trigger(t, b, token, "console_test_steps", string(params))
			waitStatus(t, s, id, store.RunComplete)
			status, _, page = b.get("/console/jobs/runs/" + id)
			if status != http.StatusOK {
				t.Fatalf("run page: %d\n%s", status, page)
			}
			mustContain(t, page, `class="status status-complete"`, ">complete<", "manual", "step &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
				`{&#34;n&#34;:3}`, "&#34;say&#34;: &#34;\\u003cscript\\u003e", `data-finished="true"`, `&#34;done&#34;: 3`)
			if strings.Contains(page, hostile) || strings.Contains(page, `id="terminate"`) {
				t.Errorf("the run page holds the raw script, or a terminate form for an ended run:\n%s", page)
			}
			if n := strings.Count(page, `<tr class="level-info"`); n != 3 {
				t.Errorf("%d log lines, want 3", n)
			}

			// The trigger is in the audit trail, as the API's.
			// Refused triggers are recorded too, with their status.
			entries := auditEntries(t, s, "jobs.trigger")
			if len(entries) != len(bad)+2 || entries[0].Status != http.StatusSeeOther || !strings.Contains(entries[0].Summary, id) || entries[1].Status != http.StatusNotFound || entries[2].Status != http.StatusBadRequest {
				t.Errorf("audit entries of jobs.trigger: %+v", entries)
			}

			// The notification shows, escaped.
			status, _, page = b.get("/console/notifications?job=console_test_steps")
			if status != http.StatusOK {
				t.Fatalf("notifications: %d\n%s", status, page)
			}
			mustContain(t, page, "Counted", "counted &lt;script&gt;", `href="/console/jobs/runs/`+id+`"`, "success")
			if strings.Contains(page, hostile) {
				t.Error("the notifications page holds the raw script")
			}
			if status, _, _ := b.get("/console/notifications?level=loud"); status != http.StatusBadRequest {
				t.Errorf("notifications of level loud: %d, want 400", status)
			}
			// The jobs page shows the last run.
			_, _, page = b.get("/console/jobs")
			mustContain(t, page, `<a href="/console/jobs/runs/`+id+`" class="status status-complete">complete</a>`)
		})
	}
}

// asTemplate is how html/template writes s in a textarea.
func asTemplate(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `"`, "&#34;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", "+", "&#43;").Replace(s)
}

// auditEntries reads the audit trail through the API.
func auditEntries(t *testing.T, s *server.Server, action string) []struct {
	Status  int
	Summary string
	KeyName string `json:"key_name"`
} {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/v1/audit?action="+action, nil)
	req.Header.Set("x-api-key", adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Entries []struct {
			Status  int
			Summary string
			KeyName string `json:"key_name"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Entries
}

func TestJobRunFollowAndTerminate(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, false)
			b := newBrowser(t, s.URL())
			token := b.signIn(adminKey)

			// The follow endpoint answers only the lines after the one asked.
			id := trigger(t, b, token, "console_test_steps", `{"steps": 3}`)
			waitStatus(t, s, id, store.RunComplete)
			all := follow(t, b, id, 0)
			if !all.Finished || all.Status != "complete" || all.Performs != 3 || all.Attempts != 1 || len(all.Lines) != 3 || all.Lines[2].Message != "step " || all.Lines[2].Fields != `{"n":3}` {
				t.Fatalf("follow from the start: %+v", all)
			}
			if later := follow(t, b, id, all.Lines[1].ID); len(later.Lines) != 1 || later.Lines[0].ID != all.Lines[2].ID {
				t.Fatalf("follow after line %d: %+v", all.Lines[1].ID, later.Lines)
			}
			if none := follow(t, b, id, all.Lines[2].ID); len(none.Lines) != 0 {
				t.Fatalf("follow after the last line: %+v", none.Lines)
			}
			if status, _, _ := b.get("/console/jobs/runs/" + id + "/log?after=x"); status != http.StatusBadRequest {
				t.Errorf("follow after x: %d, want 400", status)
			}
			if status, _, _ := b.get("/console/jobs/runs/nope/log"); status != http.StatusNotFound {
				t.Errorf("follow of no run: %d, want 404", status)
			}
			if status, _, _ := b.get("/console/jobs/runs/nope"); status != http.StatusNotFound {
				t.Errorf("page of no run: %d, want 404", status)
			}

			// A long run: its page follows it and offers to terminate it.
			long := trigger(t, b, token, "console_test_steps", `{"steps": 1, "wait": true}`)
			waitStatus(t, s, long, store.RunRunning)
			_, _, page := b.get("/console/jobs/runs/" + long)
			mustContain(t, page, `data-finished="false"`, `data-follow="/console/jobs/runs/`+long+`/log"`, `src="/console/assets/jobs.js"`,
				`id="terminate"`, `data-confirm="Terminate run `, `>running<`, `href="/console/jobs/runs/`+long+`">Reload</a>`)
			for deadline := time.Now().Add(10 * time.Second); len(follow(t, b, long, 0).Lines) == 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the long run logged nothing")
				}
			}
			if a := follow(t, b, long, 0); a.Finished || a.Status != "running" || a.Lines[0].Message != "waiting to be terminated" {
				t.Fatalf("follow the long run: %+v", a)
			}

			// A read-only key may look, not terminate; nor may a form
			// without the CSRF token.
			viewer, viewerToken := readOnly(t, s)
			if _, _, page := viewer.get("/console/jobs/runs/" + long); strings.Contains(page, `id="terminate"`) {
				t.Error("a read-only key is offered to terminate")
			}
			if status, _, _ := viewer.post("/console/jobs/runs/"+long+"/terminate", url.Values{"csrf_token": {viewerToken}}); status != http.StatusForbidden {
				t.Errorf("terminate with a read-only key: %d, want 403", status)
			}
			if status, _, _ := b.post("/console/jobs/runs/"+long+"/terminate", nil); status != http.StatusForbidden {
				t.Errorf("terminate without CSRF token: %d, want 403", status)
			}
			if run := waitStatus(t, s, long, store.RunRunning); run.TerminateRequested != nil {
				t.Fatalf("a refused terminate reached the run: %+v", run)
			}
			status, loc, _ := b.post("/console/jobs/runs/"+long+"/terminate", url.Values{"csrf_token": {token}})
			if status != http.StatusSeeOther || loc != "/console/jobs/runs/"+long {
				t.Fatalf("terminate: %d %q", status, loc)
			}
			run := waitStatus(t, s, long, store.RunTerminated, store.RunError, store.RunComplete)
			if run.Status != store.RunTerminated {
				t.Fatalf("terminated run: %+v", run)
			}
			if a := follow(t, b, long, 0); !a.Finished || a.Status != "terminated" || !strings.Contains(strings.Join(a.Errors, " "), "terminated by request") {
				t.Errorf("follow the terminated run: %+v", a)
			}
			if status, _, page := b.post("/console/jobs/runs/"+long+"/terminate", url.Values{"csrf_token": {token}}); status != http.StatusConflict || !strings.Contains(page, "already ended (terminated)") {
				t.Errorf("terminate an ended run: %d\n%s", status, page)
			}
			if entries := auditEntries(t, s, "jobs.terminate"); len(entries) != 2 || entries[0].Status != http.StatusConflict || entries[1].Status != http.StatusSeeOther {
				t.Errorf("audit entries of jobs.terminate: %+v", entries)
			}
		})
	}
}

// followAnswer is what the follow endpoint answers.
type followAnswer struct {
	Status   string
	Finished bool
	Performs int64
	Attempts int
	Errors   []string
	Lines    []struct {
		ID      int64
		Message string
		Fields  string
	}
}

func follow(t *testing.T, b *browser, id string, after int64) followAnswer {
	t.Helper()
	status, _, body := b.get(fmt.Sprintf("/console/jobs/runs/%s/log?after=%d", id, after))
	var a followAnswer
	if err := json.Unmarshal([]byte(body), &a); status != http.StatusOK || err != nil {
		t.Fatalf("follow %s after %d: %d %v\n%s", id, after, status, err, body)
	}
	return a
}

func TestJobRunsList(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, false)
			ctx := context.Background()
			// 55 ended runs of a job, two of them created at the same
			// instant: the pages hold each once, newest first.
			base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
			var ids []string
			for i := range 55 {
				at := base.Add(time.Duration(i) * time.Second)
				if i == 50 {
					at = base.Add(49 * time.Second)
				}
				id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
				status := store.RunComplete
				if i%10 == 0 {
					status = store.RunError
				}
				run := &store.JobRun{ID: id, Job: "paged", Kind: "paged", Params: json.RawMessage(`{}`), Status: status, Trigger: "manual", ScheduledAt: at, RunAfter: at, CreatedAt: at}
				if err := s.Store.JobRunInsert(ctx, run); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			b := newBrowser(t, s.URL())
			b.signIn(adminKey)
			status, _, first := b.get("/console/jobs/runs?job=paged")
			if status != http.StatusOK {
				t.Fatalf("runs: %d\n%s", status, first)
			}
			next := regexp.MustCompile(`href="(/console/jobs/runs\?[^"]+)" rel="next"`).FindStringSubmatch(first)
			if next == nil {
				t.Fatalf("no link to older runs:\n%s", first)
			}
			_, _, second := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
			if strings.Contains(second, `rel="next"`) {
				t.Error("the last page links to older runs")
			}
			seen := map[string]int{}
			for _, page := range []string{first, second} {
				for _, m := range regexp.MustCompile(`<code>(0{8}-[0-9-]+)</code>`).FindAllStringSubmatch(page, -1) {
					seen[m[1]]++
				}
			}
			for _, id := range ids {
				if seen[id] != 1 {
					t.Errorf("run %s shown %d times", id, seen[id])
				}
			}
			if i, j := strings.Index(first, ids[54]), strings.Index(first, ids[53]); i < 0 || j < i {
				t.Error("runs are not newest first")
			}
			_, _, errored := b.get("/console/jobs/runs?job=paged&status=error")
			if n := strings.Count(errored, `class="status status-error"`); n != 6 {
				t.Errorf("%d runs in error, want 6", n)
			}
			if status, _, page := b.get("/console/jobs/runs?status=done"); status != http.StatusBadRequest || !strings.Contains(page, "not one of pending") {
				t.Errorf("status done: %d\n%s", status, page)
			}
			if status, _, _ := b.get("/console/jobs/runs?before=junk"); status != http.StatusBadRequest {
				t.Errorf("a bad cursor: %d, want 400", status)
			}
		})
	}
}
