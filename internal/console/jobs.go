package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/weftdata/weft/internal/event"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/store"
)

func (c *Console) jobRoutes() {
	c.page(keys.ScopeRead, "GET "+Prefix+"jobs", c.jobs)
	c.action(keys.ScopeJobs, "POST "+Prefix+"jobs/{job}/runs", "jobs.trigger", c.jobTrigger)
	c.page(keys.ScopeRead, "GET "+Prefix+"jobs/runs", c.jobRuns)
	c.page(keys.ScopeRead, "GET "+Prefix+"jobs/runs/{id}", c.jobRun)
	c.page(keys.ScopeRead, "GET "+Prefix+"jobs/runs/{id}/log", c.jobRunLog)
	c.action(keys.ScopeJobs, "POST "+Prefix+"jobs/runs/{id}/terminate", "jobs.terminate", c.jobRunTerminate)
	c.page(keys.ScopeRead, "GET "+Prefix+"notifications", c.notifications)
	c.addNav("Jobs", Prefix+"jobs", nil)
	c.addNav("Notifications", Prefix+"notifications", nil)
}

// jobRow is a job of the jobs page: declared in weft.yaml (or built in
// with a default schedule), or only registered in this binary.
type jobRow struct {
	Name, Kind, Description string
	Cron                    string
	Enabled                 bool
	// Disabled says why a declared job cannot run.
	Disabled string
	Next     *time.Time
	// Parameters are the declared parameters, as JSON.
	Parameters string
	Last       *store.JobRun
}

// triggerForm is the trigger form of one job as posted, shown again with
// its error.
type triggerForm struct {
	Job, Parameters, Error string
}

type jobsData struct {
	Jobs []jobRow
	// CanTrigger: the session's key has the jobs scope.
	CanTrigger bool
	Form       triggerForm
}

// jobs is GET /console/jobs: every job with its schedule and last run,
// and a trigger form for each.
func (c *Console) jobs(w http.ResponseWriter, r *http.Request, s *Session) {
	c.showJobs(w, r, s, http.StatusOK, triggerForm{})
}

func (c *Console) showJobs(w http.ResponseWriter, r *http.Request, s *Session, status int, form triggerForm) {
	latest, err := c.cfg.Store.JobRunLatest(r.Context())
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The runs could not be read: "+err.Error())
		return
	}
	d := jobsData{Jobs: c.jobRows(latest), CanTrigger: s.Can(keys.ScopeJobs), Form: form}
	c.render(w, r, status, "jobs", &View{Title: "Jobs", Session: s, Data: d})
}

// jobRows lists the declared jobs, then the registered kinds that no
// declaration names, as GET /v1/jobs does.
func (c *Console) jobRows(latest map[string]*store.JobRun) []jobRow {
	runner := c.cfg.Pipeline.Jobs()
	var rows []jobRow
	seen := map[string]bool{}
	now := time.Now()
	for _, sc := range runner.Schedules() {
		row := jobRow{Name: sc.Job, Kind: sc.Kind, Enabled: sc.Enabled, Disabled: sc.Disabled, Last: latest[sc.Job]}
		if info, ok := runner.Lookup(sc.Kind); ok {
			row.Description = info.Description
		}
		if sc.Cron != nil {
			row.Cron = sc.Cron.String()
			if sc.Enabled {
				next := sc.Cron.Next(now)
				row.Next = &next
			}
		}
		if len(sc.Parameters) > 0 {
			p, _ := json.Marshal(sc.Parameters) //nolint:errchkjson // decoded from JSON
			row.Parameters = string(p)
		}
		rows = append(rows, row)
		seen[sc.Job] = true
	}
	for _, info := range runner.Kinds() {
		if !seen[info.Name] {
			rows = append(rows, jobRow{Name: info.Name, Kind: info.Name, Description: info.Description, Enabled: true, Last: latest[info.Name]})
		}
	}
	return rows
}

// jobTrigger is POST /console/jobs/{job}/runs {parameters}: a run of the
// job with the parameters (a JSON object, or blank), then its page. Bad
// parameters show the jobs page again with the error and start nothing.
func (c *Console) jobTrigger(w http.ResponseWriter, r *http.Request, s *Session) {
	form := triggerForm{Job: r.PathValue("job"), Parameters: r.PostForm.Get("parameters")}
	params, err := parseParameters(form.Parameters)
	if err != nil {
		form.Error = err.Error()
		c.showJobs(w, r, s, http.StatusBadRequest, form)
		return
	}
	run, err := c.cfg.Pipeline.Jobs().Trigger(r.Context(), form.Job, params, "manual")
	var bad *jobrunner.ParamsError
	switch {
	case errors.As(err, &bad):
		form.Error = "The job refused the parameters: " + bad.Err.Error()
		c.showJobs(w, r, s, http.StatusBadRequest, form)
		return
	case errors.Is(err, jobrunner.ErrUnknownJob), errors.Is(err, jobrunner.ErrJobDisabled):
		c.fail(w, r, s, http.StatusNotFound, "This job cannot be triggered: "+err.Error())
		return
	case err != nil:
		c.fail(w, r, s, http.StatusInternalServerError, "The run could not be created: "+err.Error())
		return
	}
	audit.Summarize(r.Context(), "job %s: run %s", run.Job, run.ID)
	http.Redirect(w, r, runPath(run.ID), http.StatusSeeOther)
}

// parseParameters reads a trigger's parameters: blank is none, anything
// else must be one JSON object. Errors say where the text went wrong.
func parseParameters(text string) (map[string]any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(text, dec.InputOffset(), err)
	}
	if dec.More() {
		return nil, fmt.Errorf("the parameters must be one JSON object, but more follows at %s", position(text, dec.InputOffset()))
	}
	params, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the parameters must be a JSON object like {\"name\": value}, not %s", jsonKind(v))
	}
	// encoding/json turned a lone UTF-16 surrogate into U+FFFD: refuse it,
	// and \u0000, as the API refuses them.
	if err := event.StorableJSON([]byte(text)); err != nil {
		return nil, fmt.Errorf("the parameters %v", err)
	}
	return params, nil
}

// jsonError says what is wrong with JSON text and at which line and
// column.
func jsonError(text string, offset int64, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		offset = syntax.Offset
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("the parameters are not valid JSON: the text ends at %s, before the value is complete", position(text, int64(len(text))))
	}
	return fmt.Errorf("the parameters are not valid JSON at %s: %v", position(text, offset), err)
}

// position writes a byte offset of text as "line L, column C" (1-based).
func position(text string, offset int64) string {
	if offset > int64(len(text)) {
		offset = int64(len(text))
	}
	before := text[:offset]
	line := strings.Count(before, "\n") + 1
	col := len([]rune(before[strings.LastIndex(before, "\n")+1:]))
	if col == 0 {
		col = 1
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// runPath is the page of a run.
func runPath(id string) string { return Prefix + "jobs/runs/" + url.PathEscape(id) }
