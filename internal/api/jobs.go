package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/store"
)

// runAndAnswer triggers a run of a built-in job, waits for it and answers
// its result (the final state) with the run's id: what the synchronous
// /v1/stitching/run and /v1/attributes/run calls return.
func (h *handler) runAndAnswer(w http.ResponseWriter, r *http.Request, name string, params map[string]any) {
	run, err := h.pipeline.RunJob(r.Context(), name, params, "api")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if run.Status != store.RunComplete {
		msg := fmt.Sprintf("%s run %s ended %s", name, run.ID, run.Status)
		if len(run.Errors) > 0 {
			msg += ": " + run.Errors[len(run.Errors)-1]
		}
		h.writeError(w, r, &Error{http.StatusInternalServerError, "job_failed", msg})
		return
	}
	var st struct {
		State map[string]any `json:"state"`
	}
	if err := json.Unmarshal(run.Checkpoint, &st); err != nil {
		h.writeError(w, r, err)
		return
	}
	st.State["run_id"] = run.ID
	writeJSON(w, http.StatusOK, st.State)
}

// jobsList is GET /v1/jobs: the jobs this server can run, declared
// schedules with their next tick.
func (h *handler) jobsList(w http.ResponseWriter, r *http.Request) {
	runner := h.pipeline.Jobs()
	type kind struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
	}
	type declared struct {
		Job        string         `json:"job"`
		Kind       string         `json:"kind"`
		Cron       string         `json:"cron,omitempty"`
		Enabled    bool           `json:"enabled"`
		Disabled   string         `json:"disabled,omitempty"` // why it cannot run: its kind is not in this binary
		NextRunAt  *time.Time     `json:"next_run_at,omitempty"`
		Parameters map[string]any `json:"parameters,omitempty"`
	}
	kinds := []kind{}
	for _, info := range runner.Kinds() {
		kinds = append(kinds, kind{info.Name, info.Description})
	}
	jobs := []declared{}
	now := time.Now()
	for _, s := range runner.Schedules() {
		d := declared{Job: s.Job, Kind: s.Kind, Enabled: s.Enabled, Disabled: s.Disabled, Parameters: s.Parameters}
		if s.Cron != nil {
			d.Cron = s.Cron.String()
			if s.Enabled {
				next := s.Cron.Next(now)
				d.NextRunAt = &next
			}
		}
		jobs = append(jobs, d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs, "kinds": kinds})
}

// jobTrigger is POST /v1/jobs/{job}/runs with the parameters as the body
// (an object, or empty): it answers the new run (202).
func (h *handler) jobTrigger(w http.ResponseWriter, r *http.Request) {
	var params map[string]any
	if err := h.decodeOptional(w, r, &params); err != nil {
		h.writeError(w, r, err)
		return
	}
	run, err := h.pipeline.Jobs().Trigger(r.Context(), r.PathValue("job"), params, "manual")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	audit.Summarize(r.Context(), "job %s: run %s", run.Job, run.ID)
	writeJSON(w, http.StatusAccepted, run)
}

var runStatuses = []string{store.RunPending, store.RunScheduled, store.RunRunning, store.RunComplete, store.RunError, store.RunTerminated}

// jobRunsList is GET /v1/jobs/runs?job=&status=&since=&until=&limit=,
// newest first; since and until bound the runs' creation time.
func (h *handler) jobRunsList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := strings.ToLower(q.Get("status"))
	if status != "" && !slices.Contains(runStatuses, status) {
		h.writeError(w, r, badRequest(fmt.Sprintf("status %s is not one of %s", clip.Quote(q.Get("status")), strings.Join(runStatuses, ", "))))
		return
	}
	limit, err := intParam(q.Get("limit"), 50, 1, 1000, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	since, until, err := timeRangeParams(q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	runs, err := h.store.JobRunList(r.Context(), &store.JobRunListParams{Job: q.Get("job"), Status: status, Since: since, Until: until, Limit: int(limit)})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// jobRunGet is GET /v1/jobs/runs/{id}.
func (h *handler) jobRunGet(w http.ResponseWriter, r *http.Request) {
	run, err := h.store.JobRunGet(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// jobRunLogs is GET /v1/jobs/runs/{id}/logs?level=&after=&limit=&grep=&since=&until=:
// the run's log lines in order; after is the last id seen (for following),
// grep a regular expression (Go's syntax) that a line's message or its
// fields as JSON must match, since and until bound the lines' time.
func (h *handler) jobRunLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := h.store.JobRunGet(r.Context(), id); err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := logSearchParams(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p.RunID = id
	logs, err := h.store.JobLogSearch(r.Context(), p)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"logs": logs})
}

// grepMaxLen bounds a log search's pattern.
const grepMaxLen = 1000

// logSearchParams reads the query of jobRunLogs.
func logSearchParams(q url.Values) (*store.JobLogSearchParams, error) {
	p := &store.JobLogSearchParams{}
	if l := strings.ToLower(q.Get("level")); l != "" {
		p.MinLevel = slices.Index(store.LogLevels, l)
		if p.MinLevel < 0 {
			return nil, badRequest(fmt.Sprintf("level %s is not one of %s", clip.Quote(q.Get("level")), strings.Join(store.LogLevels, ", ")))
		}
	}
	var err error
	if p.AfterID, err = intParam(q.Get("after"), 0, 0, 1<<62, "after"); err != nil {
		return nil, err
	}
	limit, err := intParam(q.Get("limit"), 1000, 1, 10000, "limit")
	if err != nil {
		return nil, err
	}
	p.Limit = int(limit)
	if p.Since, p.Until, err = timeRangeParams(q); err != nil {
		return nil, err
	}
	if pattern := q.Get("grep"); pattern != "" {
		if len(pattern) > grepMaxLen {
			return nil, badRequest(fmt.Sprintf("grep is %d bytes long; at most %d", len(pattern), grepMaxLen))
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("grep %s is not a regular expression: %v", clip.Quote(pattern), err))
		}
		p.Match = func(l *store.JobLog) bool { return re.MatchString(l.Message) || re.Match(l.Fields) }
	}
	return p, nil
}

// timeRangeParams reads since and until, RFC 3339 times, and checks that
// since comes first.
func timeRangeParams(q url.Values) (since, until time.Time, err error) {
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &since}, {"until", &until}} {
		s := q.Get(t.name)
		if s == "" {
			continue
		}
		if *t.to, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return since, until, badRequest(fmt.Sprintf("%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got %s", t.name, clip.Quote(s)))
		}
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return since, until, badRequest(fmt.Sprintf("since (%s) must be before until (%s)", since.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano)))
	}
	return since, until, nil
}

// jobRunTerminate is POST /v1/jobs/runs/{id}/terminate: a waiting run ends
// at once, a running one at its next checkpoint (its context is
// cancelled). Terminating a run that has ended is a 409.
func (h *handler) jobRunTerminate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	run, err := h.store.JobRunGet(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if jobrunner.Finished(run.Status) {
		h.writeError(w, r, &Error{http.StatusConflict, "run_finished", fmt.Sprintf("run %s has already ended (%s)", id, run.Status)})
		return
	}
	if run, err = h.pipeline.Jobs().Terminate(r.Context(), id); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, run)
}

var notificationLevels = []string{"info", "success", "warn", "error"}

// notificationsList is GET /v1/notifications?level=&job=&limit=, newest
// first.
func (h *handler) notificationsList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	level := strings.ToLower(q.Get("level"))
	if level != "" && !slices.Contains(notificationLevels, level) {
		h.writeError(w, r, badRequest(fmt.Sprintf("level %s is not one of %s", clip.Quote(q.Get("level")), strings.Join(notificationLevels, ", "))))
		return
	}
	limit, err := intParam(q.Get("limit"), 50, 1, 1000, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	notes, err := h.store.NotificationList(r.Context(), level, q.Get("job"), int(limit))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": notes})
}

// jobError maps the errors of the job runtime.
func jobError(err error) (int, string, bool) {
	var params *jobrunner.ParamsError
	switch {
	case errors.As(err, &params):
		return http.StatusBadRequest, "invalid_parameters", true
	case errors.Is(err, jobrunner.ErrUnknownJob):
		return http.StatusNotFound, "not_found", true
	case errors.Is(err, jobrunner.ErrJobDisabled):
		return http.StatusNotFound, "job_disabled", true // this binary has no such job
	}
	return 0, "", false
}
