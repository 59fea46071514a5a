package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/pluginrun"
	"github.com/weftdata/weft/internal/store"
)

// runStatuses are the statuses the runs list filters by.
var runStatuses = []string{store.RunPending, store.RunScheduled, store.RunRunning, store.RunComplete, store.RunError, store.RunTerminated}

// runsPageSize is how many runs a page of the list shows.
const runsPageSize = 50

// logPageSize bounds the log lines of a run page and of each answer of
// the follow endpoint.
const logPageSize = 1000

// runView is a run as the pages show it.
type runView struct {
	*store.JobRun
	// Duration is from start to end, or to now while it runs.
	Duration time.Duration
	Finished bool
	// Parameters and State are indented JSON.
	Parameters, State string
	// LastError is the last of the run's errors.
	LastError string
}

func newRunView(run *store.JobRun, now time.Time) runView {
	v := runView{JobRun: run, Finished: jobrunner.Finished(run.Status), Parameters: indentJSON(run.Params)}
	if run.StartedAt != nil {
		end := now
		if run.CompletedAt != nil {
			end = *run.CompletedAt
		}
		v.Duration = end.Sub(*run.StartedAt)
	}
	if len(run.Errors) > 0 {
		v.LastError = run.Errors[len(run.Errors)-1]
	}
	var cp struct {
		State json.RawMessage `json:"state"`
	}
	if json.Unmarshal(run.Checkpoint, &cp) == nil {
		v.State = indentJSON(cp.State)
	}
	return v
}

// indentJSON indents JSON for display; anything else is shown as it is.
func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return ""
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

type runsData struct {
	Job, Status string
	Statuses    []string
	Jobs        []string
	Runs        []runView
	// Older is the query of the next page, empty on the last.
	Older string
}

// jobRuns is GET /console/jobs/runs?job=&status=&before=: runs, newest
// first, a page at a time (before is the cursor of the next page).
func (c *Console) jobRuns(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	d := runsData{Job: q.Get("job"), Status: strings.ToLower(q.Get("status")), Statuses: runStatuses}
	if !c.oneOf(w, r, s, "status", d.Status, runStatuses) {
		return
	}
	p := &store.JobRunPageParams{Job: d.Job, Status: d.Status, Limit: runsPageSize + 1}
	if before := q.Get("before"); before != "" {
		at, id, ok := strings.Cut(before, "~")
		t, err := time.Parse(time.RFC3339Nano, at)
		if !ok || err != nil {
			c.fail(w, r, s, http.StatusBadRequest, "The page cursor "+strconv.Quote(before)+" is not one this console wrote.")
			return
		}
		p.BeforeAt, p.BeforeID = t, id
	}
	runs, err := c.cfg.Store.JobRunPage(r.Context(), p)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The runs could not be read: "+err.Error())
		return
	}
	if len(runs) > runsPageSize {
		runs = runs[:runsPageSize]
		last := runs[len(runs)-1]
		next := url.Values{"before": {last.CreatedAt.Format(time.RFC3339Nano) + "~" + last.ID}}
		for k, v := range map[string]string{"job": d.Job, "status": d.Status} {
			if v != "" {
				next.Set(k, v)
			}
		}
		d.Older = Prefix + "jobs/runs?" + next.Encode()
	}
	now := time.Now()
	for _, run := range runs {
		d.Runs = append(d.Runs, newRunView(run, now))
	}
	for _, row := range c.jobRows(nil) {
		d.Jobs = append(d.Jobs, row.Name)
	}
	if d.Job != "" && !slices.Contains(d.Jobs, d.Job) { // a job no longer declared
		d.Jobs = append(d.Jobs, d.Job)
	}
	c.show(w, r, s, "jobs_runs", "Job runs", d)
}

// logLine is a line of a run's log as shown and as the follow endpoint
// answers it.
type logLine struct {
	ID      int64  `json:"id"`
	At      string `json:"at"`
	Level   string `json:"level"`
	Message string `json:"message"`
	Fields  string `json:"fields,omitempty"`
}

func logLines(logs []store.JobLog) []logLine {
	out := make([]logLine, 0, len(logs))
	for _, l := range logs {
		line := logLine{ID: l.ID, At: formatTime(l.At), Level: l.Level, Message: l.Message}
		if f := string(l.Fields); f != "{}" && f != "null" {
			line.Fields = f
		}
		out = append(out, line)
	}
	return out
}

type runData struct {
	Run runView
	Log []logLine
	// After is the id of the last line shown: the follow script asks for
	// the lines after it; Older pages on when the log is longer than a page.
	After int64
	More  bool
	// CanTerminate: the run has not ended and the key has the jobs scope.
	CanTerminate bool
	// Plugin: the run is a plugin run, which has its own page too.
	Plugin bool
}

// jobRun is GET /console/jobs/runs/{id}?after=: the run and its log (a
// page of it, from the line after after).
func (c *Console) jobRun(w http.ResponseWriter, r *http.Request, s *Session) {
	run, ok := c.findRun(w, r, s)
	if !ok {
		return
	}
	after, err := parseAfter(r)
	if err != nil {
		c.fail(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	logs, err := c.cfg.Store.JobLogList(r.Context(), run.ID, after, 0, logPageSize)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The run's log could not be read: "+err.Error())
		return
	}
	d := runData{Run: newRunView(run, time.Now()), Log: logLines(logs), After: after, More: len(logs) == logPageSize, Plugin: run.Kind == pluginrun.Kind}
	if len(logs) > 0 {
		d.After = logs[len(logs)-1].ID
	}
	d.CanTerminate = !d.Run.Finished && s.Can(keys.ScopeJobs)
	c.show(w, r, s, "jobs_run", "Run "+run.ID, d)
}

// findRun reads the run of the path's id, or answers 404 or 500.
func (c *Console) findRun(w http.ResponseWriter, r *http.Request, s *Session) (*store.JobRun, bool) {
	run, err := c.cfg.Store.JobRunGet(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.fail(w, r, s, http.StatusNotFound, "There is no run "+strconv.Quote(r.PathValue("id"))+" (finished runs are kept for the job retention, 7 days by default).")
		return nil, false
	case err != nil:
		c.fail(w, r, s, http.StatusInternalServerError, "The run could not be read: "+err.Error())
		return nil, false
	}
	return run, true
}

// followAnswer is what the follow endpoint answers: the run's state now
// and the log lines after the one asked.
type followAnswer struct {
	Status    string    `json:"status"`
	Finished  bool      `json:"finished"`
	Performs  int64     `json:"performs"`
	Attempts  int       `json:"attempts"`
	Started   string    `json:"started_at,omitempty"`
	Duration  string    `json:"duration,omitempty"`
	Completed string    `json:"completed_at,omitempty"`
	Errors    []string  `json:"errors"`
	Lines     []logLine `json:"lines"`
	// More: there are more lines than one answer holds; ask again at once.
	More bool `json:"more"`
}

// jobRunLog is GET /console/jobs/runs/{id}/log?after=<line id>: JSON for
// the follow script (assets/jobs.js) of the run page. The run is read
// before its log, so that when the answer says finished it holds every
// line the run wrote.
func (c *Console) jobRunLog(w http.ResponseWriter, r *http.Request, s *Session) {
	run, err := c.cfg.Store.JobRunGet(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	after, aerr := parseAfter(r)
	if aerr != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": aerr.Error()})
		return
	}
	var logs []store.JobLog
	if err == nil {
		logs, err = c.cfg.Store.JobLogList(r.Context(), run.ID, after, 0, logPageSize)
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	v := newRunView(run, time.Now())
	a := followAnswer{Status: run.Status, Finished: v.Finished, Performs: run.Performs, Attempts: run.Attempts,
		Started: formatTime(run.StartedAt), Completed: formatTime(run.CompletedAt),
		Errors: run.Errors, Lines: logLines(logs), More: len(logs) == logPageSize}
	if run.StartedAt != nil {
		a.Duration = formatDuration(v.Duration)
	}
	writeJSON(w, http.StatusOK, a)
}

// writeJSON answers the follow script.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

// parseAfter reads the after parameter: the id of the last log line seen.
func parseAfter(r *http.Request) (int64, error) {
	q := r.URL.Query().Get("after")
	if q == "" {
		return 0, nil
	}
	after, err := strconv.ParseInt(q, 10, 64)
	if err != nil || after < 0 {
		return 0, fmt.Errorf("after must be the id of a log line, not %s", strconv.Quote(q))
	}
	return after, nil
}

// jobRunTerminate is POST /console/jobs/runs/{id}/terminate: a waiting run
// ends at once, a running one at its next checkpoint; then the run's page.
func (c *Console) jobRunTerminate(w http.ResponseWriter, r *http.Request, s *Session) {
	run, ok := c.findRun(w, r, s)
	if !ok {
		return
	}
	if jobrunner.Finished(run.Status) {
		c.fail(w, r, s, http.StatusConflict, fmt.Sprintf("Run %s has already ended (%s).", run.ID, run.Status))
		return
	}
	if _, err := c.cfg.Pipeline.Jobs().Terminate(r.Context(), run.ID); err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The run could not be terminated: "+err.Error())
		return
	}
	http.Redirect(w, r, runPath(run.ID), http.StatusSeeOther)
}
