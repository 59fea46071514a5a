package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/pluginrun"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// propertiesList is GET /v1/properties: the published plugin properties.
func (h *handler) propertiesList(w http.ResponseWriter, r *http.Request) {
	ps, err := h.plugins.Properties(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"properties": ps})
}

// pluginInfo is a declared plugin as GET /v1/plugins lists it.
type pluginInfo struct {
	plugin.Definition
	Job       string     `json:"job"`
	NextRunAt *time.Time `json:"next_run_at,omitempty"`
	// Deployment is the plugin's deployment in this server: the one
	// serving predictions, else the newest (deploying or failed).
	Deployment *plugin.DeploymentStatus `json:"deployment,omitempty"`
}

// pluginsList is GET /v1/plugins: the plugins of weft.yaml.
func (h *handler) pluginsList(w http.ResponseWriter, r *http.Request) {
	_, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	next := map[string]*time.Time{}
	now := time.Now()
	for _, s := range h.pipeline.Jobs().Schedules() {
		if s.Cron != nil && s.Enabled {
			t := s.Cron.Next(now)
			next[s.Job] = &t
		}
	}
	out := []pluginInfo{}
	for _, p := range cfg.Plugins {
		job := plugin.JobPrefix + p.Name
		info := pluginInfo{Definition: p, Job: job, NextRunAt: next[job]}
		if h.deployer != nil {
			info.Deployment = h.deployer.Status(p.Name)
		}
		out = append(out, info)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plugins": out})
}

// pluginDeclared finds a declared plugin or answers 404.
func (h *handler) pluginDeclared(w http.ResponseWriter, r *http.Request) (*config.Config, bool) {
	_, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return nil, false
	}
	if _, ok := cfg.Plugin(r.PathValue("name")); !ok {
		h.writeError(w, r, &Error{http.StatusNotFound, "not_found", "no plugin " + clip.String(r.PathValue("name")) + " is declared under plugins: in weft.yaml"})
		return nil, false
	}
	return cfg, true
}

// pluginRunCreate is POST /v1/plugins/{name}/runs with
// {"inputParams": {...}} (optional): 202 with the job run.
func (h *handler) pluginRunCreate(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.pluginDeclared(w, r); !ok {
		return
	}
	var body struct {
		InputParams map[string]any `json:"inputParams"`
	}
	if err := h.decodeOptional(w, r, &body); err != nil {
		h.writeError(w, r, err)
		return
	}
	params := map[string]any{}
	if body.InputParams != nil {
		params["inputParams"] = body.InputParams
	}
	run, err := h.pipeline.Jobs().Trigger(r.Context(), plugin.JobPrefix+r.PathValue("name"), params, "manual")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, run)
}

// PluginRun is a plugin run as GET /v1/plugins/runs/{id} answers it.
type PluginRun struct {
	*store.JobRun
	Plugin string `json:"plugin"`
	// Phase: initial, stages, batches, publish, succeeded, failed.
	Phase       string                `json:"phase,omitempty"`
	InputParams map[string]any        `json:"inputParams,omitempty"`
	Stages      []pluginrun.Stage     `json:"stages,omitempty"`
	Batches     *pluginrun.BatchState `json:"batches,omitempty"`
	Processes   any                   `json:"processes,omitempty"`
	Published   any                   `json:"published,omitempty"`
	Failure     *pluginrun.Failure    `json:"failure,omitempty"`
	Data        json.RawMessage       `json:"data,omitempty"`
	Datasets    map[string]int64      `json:"datasets,omitempty"`
	// Moments are the moments of datasets other than latest.
	Moments map[string]plugin.Moment `json:"moments,omitempty"`
	// Variations are the initial stage's hyper-parameter variations with
	// their scores; Best the winner's index, GridSize the uncapped grid.
	Variations []pluginrun.Variation `json:"variations,omitempty"`
	Best       *int                  `json:"best,omitempty"`
	GridSize   int                   `json:"gridSize,omitempty"`
	// Deployment is the run's deployment in this server, if it has one.
	Deployment *plugin.DeploymentStatus `json:"deployment,omitempty"`
}

func (h *handler) pluginRun(r *http.Request, run *store.JobRun) (*PluginRun, error) {
	out := &PluginRun{JobRun: run}
	var params struct {
		Plugin string `json:"plugin"`
	}
	json.Unmarshal(run.Params, &params) //nolint:errcheck // shown as stored
	out.Plugin = params.Plugin
	if s, ok := runState(run); ok {
		out.Phase, out.InputParams, out.Stages, out.Batches = s.Phase, s.InputParams, s.Stages, s.Batches
		out.Failure, out.Datasets, out.Moments = s.Failure, s.Datasets, s.Moments
		out.Variations, out.Best, out.GridSize = s.Variations, s.Best, s.GridSize
		if s.Published != nil {
			out.Published = s.Published
		}
		if len(s.Stages) > 0 {
			out.Data = s.Stages[0].Data
		}
	}
	rows, err := h.plugins.StageList(r.Context(), run.ID)
	if err != nil {
		return nil, err
	}
	out.Processes = rows
	if h.deployer != nil {
		out.Deployment = h.deployer.RunStatus(run.ID)
	}
	return out, nil
}

// runState is a plugin run's state as its checkpoint holds it; false
// before its first checkpoint.
func runState(run *store.JobRun) (*pluginrun.State, bool) {
	var cp job.Status
	if len(run.Checkpoint) == 0 || json.Unmarshal(run.Checkpoint, &cp) != nil || len(cp.State) == 0 {
		return nil, false
	}
	s, err := job.StateOf[pluginrun.State](&cp)
	return &s, err == nil
}

// pluginJobRun is the plugin run {id}: 404 for none, or a run of
// another kind.
func (h *handler) pluginJobRun(r *http.Request) (*store.JobRun, error) {
	run, err := h.store.JobRunGet(r.Context(), r.PathValue("id"))
	if err == nil && run.Kind != pluginrun.Kind {
		err = &Error{http.StatusNotFound, "not_found", "run " + run.ID + " is a " + run.Kind + " run, not a plugin run"}
	}
	return run, err
}

// pluginRunGet is GET /v1/plugins/runs/{id}: the job run with its stages,
// batches, status and the initial results' data.
func (h *handler) pluginRunGet(w http.ResponseWriter, r *http.Request) {
	run, err := h.pluginJobRun(r)
	var out *PluginRun
	if err == nil {
		out, err = h.pluginRun(r, run)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// pluginRunsList is GET /v1/plugins/runs?plugin=&limit=: runs of the
// declared plugins, newest first.
func (h *handler) pluginRunsList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), 50, 1, 1000, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	_, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	runs := []*store.JobRun{}
	for _, p := range cfg.Plugins {
		if q.Get("plugin") != "" && q.Get("plugin") != p.Name {
			continue
		}
		list, err := h.store.JobRunList(r.Context(), &store.JobRunListParams{Job: plugin.JobPrefix + p.Name, Limit: int(limit)})
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		runs = append(runs, list...)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].CreatedAt.After(runs[j].CreatedAt) })
	if len(runs) > int(limit) {
		runs = runs[:limit]
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// pluginManifest is POST /v1/plugins/{name}/manifest?stage=initial|batch|report
// with {"inputParams": {...}, "results": <initial results.json>} (both
// optional): a development manifest with fresh signed URLs.
func (h *handler) pluginManifest(w http.ResponseWriter, r *http.Request) {
	cfg, ok := h.pluginDeclared(w, r)
	if !ok {
		return
	}
	var body struct {
		InputParams map[string]any  `json:"inputParams"`
		Results     json.RawMessage `json:"results"`
	}
	if err := h.decodeOptional(w, r, &body); err != nil {
		h.writeError(w, r, err)
		return
	}
	stage := r.URL.Query().Get("stage")
	if def, _ := cfg.Plugin(r.PathValue("name")); stage == plugin.ReportKey || stage == "" && def.IsReport() {
		m, err := pluginrun.ReportManifest(r.Context(), h.plugins, cfg, pluginrun.ReportManifestParams{Plugin: def.Name, Answers: body.InputParams})
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
		return
	}
	if stage == "" {
		stage = "initial"
	}
	m, err := pluginrun.DevManifest(r.Context(), h.plugins, cfg, pluginrun.DevManifestParams{Plugin: r.PathValue("name"),
		Stage: stage, Answers: body.InputParams, Results: body.Results})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// pluginError maps the errors of packages plugin and pluginrun: signed
// URLs, deployments and runs.
func pluginError(err error) (int, string, bool) {
	var path *plugin.PathError
	var expired *plugin.ExpiredError
	var method *plugin.MethodError
	var tooLarge *plugin.TooLargeError
	var input *plugin.InputError
	var noDeployment *plugin.NoDeploymentError
	var upstream *plugin.UpstreamError
	switch {
	case errors.As(err, &path):
		return http.StatusBadRequest, "invalid_path", true
	case errors.As(err, &expired):
		return http.StatusForbidden, "url_expired", true
	case errors.Is(err, plugin.ErrBadSignature):
		return http.StatusForbidden, "invalid_signature", true
	case errors.Is(err, plugin.ErrStageNotRunning):
		return http.StatusForbidden, "stage_not_running", true
	case errors.Is(err, plugin.ErrMalformedURL):
		return http.StatusNotFound, "not_found", true
	case errors.As(err, &method):
		return http.StatusMethodNotAllowed, "method_not_allowed", true
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "file_too_large", true
	case errors.As(err, &noDeployment):
		return http.StatusServiceUnavailable, "no_deployment", true
	case errors.As(err, &upstream) && upstream.Timeout:
		return http.StatusGatewayTimeout, "deployment_timeout", true
	case errors.As(err, &upstream):
		return http.StatusBadGateway, "deployment_unreachable", true
	case errors.As(err, &input):
		return http.StatusBadRequest, input.Code, true
	case errors.Is(err, pluginrun.ErrBadStage), errors.Is(err, pluginrun.ErrInvalidInput):
		return http.StatusBadRequest, "bad_request", true
	case errors.Is(err, pluginrun.ErrBadMoment):
		return http.StatusBadRequest, "bad_moment", true
	case errors.Is(err, pluginrun.ErrDevStage):
		return http.StatusBadRequest, "bad_stage", true
	case errors.Is(err, pluginrun.ErrDevNotReport):
		return http.StatusBadRequest, "not_report_plugin", true
	case errors.Is(err, pluginrun.ErrUnknownPlugin):
		return http.StatusNotFound, "not_found", true
	}
	return 0, "", false
}
