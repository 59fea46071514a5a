package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/pluginrun"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// pluginRoutes are the plugin pages, present when the server runs
// plugins, as the API's routes are.
func (c *Console) pluginRoutes() {
	if c.cfg.Plugins == nil {
		return
	}
	c.page(keys.ScopeRead, "GET "+Prefix+"plugins", c.plugins)
	c.page(keys.ScopeRead, "GET "+Prefix+"plugins/runs/{id}", c.pluginRun)
	c.addNav("Plugins", Prefix+"plugins", c.pluginsDeclared)
}

// pluginsDeclared hides the plugins page from the navigation until a
// plugin is declared (the job runtime holds the schedules in memory).
func (c *Console) pluginsDeclared(*http.Request) bool {
	for _, s := range c.cfg.Pipeline.Jobs().Schedules() {
		if s.Kind == pluginrun.Kind {
			return true
		}
	}
	return false
}

// pluginRow is a declared plugin on the plugins page.
type pluginRow struct {
	plugin.Definition
	Job  string
	Next *time.Time
}

type pluginsData struct {
	Plugins []pluginRow
	Runs    []runView
}

// pluginRunsShown is how many plugin runs the plugins page lists.
const pluginRunsShown = 50

// plugins is GET /console/plugins: the plugins of weft.yaml and their
// runs, newest first (as GET /v1/plugins and /v1/plugins/runs).
func (c *Console) plugins(w http.ResponseWriter, r *http.Request, s *Session) {
	_, cfg, err := c.cfg.Pipeline.Config(r.Context())
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The config could not be read: "+err.Error())
		return
	}
	runs, err := c.cfg.Store.JobRunPage(r.Context(), &store.JobRunPageParams{Kind: pluginrun.Kind, Limit: pluginRunsShown})
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The plugin runs could not be read: "+err.Error())
		return
	}
	next := map[string]*time.Time{}
	now := time.Now()
	for _, sc := range c.cfg.Pipeline.Jobs().Schedules() {
		if sc.Cron != nil && sc.Enabled {
			t := sc.Cron.Next(now)
			next[sc.Job] = &t
		}
	}
	var d pluginsData
	for _, p := range cfg.Plugins {
		name := plugin.JobPrefix + p.Name
		d.Plugins = append(d.Plugins, pluginRow{Definition: p, Job: name, Next: next[name]})
	}
	for _, run := range runs {
		d.Runs = append(d.Runs, newRunView(run, now))
	}
	c.show(w, r, s, "plugins", "Plugins", d)
}

// stageView is a stage of a plugin run as its page shows it.
type stageView struct {
	Name, Status string
	// Data is the results' data, indented.
	Data    string
	Batches *plugin.Batches
}

// variationView is a hyper-parameter variation of the initial stage.
type variationView struct {
	Index         int
	Stage, Status string
	Params        string
	Score         string
	Winner        bool
	Failure       string
}

type pluginRunData struct {
	Run runView
	// State is nil until the run has prepared.
	State       *pluginrun.State
	InputParams string
	Stages      []stageView
	// Processes are the stage processes in the order they started.
	Processes  []plugin.StageRow
	Variations []variationView
	// Batches counts the batch ranges of the batch phase.
	BatchRanges int
	Failure     string
	Published   *plugin.PublishResult
}

// pluginRun is GET /console/plugins/runs/{id}: a plugin run's stages,
// batches, variations with the winner, status and errors, as GET
// /v1/plugins/runs/{id} gives them.
func (c *Console) pluginRun(w http.ResponseWriter, r *http.Request, s *Session) {
	run, ok := c.findRun(w, r, s)
	if !ok {
		return
	}
	if run.Kind != pluginrun.Kind {
		c.fail(w, r, s, http.StatusNotFound, "Run "+run.ID+" is a "+run.Kind+" run, not a plugin run.")
		return
	}
	processes, err := c.cfg.Plugins.StageList(r.Context(), run.ID)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The run's stages could not be read: "+err.Error())
		return
	}
	d := pluginRunData{Run: newRunView(run, time.Now()), Processes: processes}
	var cp job.Status
	if len(run.Checkpoint) > 0 && json.Unmarshal(run.Checkpoint, &cp) == nil && len(cp.State) > 0 {
		if st, err := job.StateOf[pluginrun.State](&cp); err == nil {
			d.describe(&st)
		}
	}
	c.show(w, r, s, "plugins_run", "Plugin run "+run.ID, d)
}

// describe fills the page's views of a run's state.
func (d *pluginRunData) describe(st *pluginrun.State) {
	d.State, d.Published = st, st.Published
	if len(st.InputParams) > 0 {
		raw, _ := json.Marshal(st.InputParams) //nolint:errchkjson // decoded from JSON
		d.InputParams = indentJSON(raw)
	}
	for _, sg := range st.Stages {
		d.Stages = append(d.Stages, stageView{Name: sg.Name, Status: sg.Status, Data: indentJSON(sg.Data), Batches: sg.Batches})
	}
	for _, v := range st.Variations {
		view := variationView{Index: v.Index, Stage: v.Stage, Status: v.Status, Winner: st.Best != nil && *st.Best == v.Index}
		if len(v.Params) > 0 {
			raw, _ := json.Marshal(v.Params) //nolint:errchkjson // decoded from JSON
			view.Params = string(raw)
		}
		if v.Score != nil {
			view.Score = strconv.FormatFloat(*v.Score, 'g', 6, 64)
		}
		if v.Failure != nil {
			view.Failure = statusText(*v.Failure)
		}
		d.Variations = append(d.Variations, view)
	}
	if st.Batches != nil {
		d.BatchRanges = len(st.Batches.Ranges)
	}
	if st.Failure != nil {
		d.Failure = st.Failure.Stage + ": " + statusText(st.Failure.Status)
	}
}

// statusText writes a plugin's status: its code, title and explanation.
func statusText(s plugin.Status) string {
	parts := []string{s.Code}
	for _, p := range []*string{s.Title, s.Explanation} {
		if p != nil && *p != "" {
			parts = append(parts, *p)
		}
	}
	return strings.Join(parts, ": ")
}
