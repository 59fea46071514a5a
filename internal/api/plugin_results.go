package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/pluginrun"
	"github.com/weftdata/weft/internal/store"
)

// PluginResults is a succeeded plugin run's results as
// GET /v1/plugins/runs/{id}/results answers them: the results.json of the
// stage whose results are the run's (a report plugin's report stage, an
// intelligence plugin's initial stage) with its data verbatim and, for a
// report plugin, its visualisation and the report it read.
type PluginResults struct {
	Run    string          `json:"run"`
	Plugin string          `json:"plugin"`
	Kind   string          `json:"kind"`
	Stage  string          `json:"stage"`
	Data   json.RawMessage `json:"data"`
	plugin.Visualization
	Report *plugin.Report `json:"report,omitempty"`
}

// pluginResults is GET /v1/plugins/runs/{id}/results: 200 with the
// results of a succeeded run; 409 no_results while it runs or when it
// failed (with the stage and its status's title).
func (h *handler) pluginResults(w http.ResponseWriter, r *http.Request) {
	run, err := h.pluginJobRun(r)
	var out *PluginResults
	if err == nil {
		out, err = pluginResultsOf(run)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// pluginResultsOf reads a run's results from its checkpoint, where the
// run keeps them.
func pluginResultsOf(run *store.JobRun) (*PluginResults, error) {
	s, ok := runState(run)
	switch {
	case !ok:
		return nil, &Error{http.StatusConflict, "no_results", fmt.Sprintf("run %s has no results: it has not started (status %s)", run.ID, run.Status)}
	case s.Failure != nil:
		msg := fmt.Sprintf("run %s has no results: its stage %s failed", run.ID, s.Failure.Stage)
		if t := s.Failure.Status.Title; t != nil {
			msg += ": " + *t
		}
		return nil, &Error{http.StatusConflict, "no_results", msg}
	case s.Phase != pluginrun.PhaseSucceeded || len(s.Stages) == 0:
		return nil, &Error{http.StatusConflict, "no_results", fmt.Sprintf("run %s has no results yet: it is in phase %s (status %s)", run.ID, s.Phase, run.Status)}
	}
	st := s.Stages[0]
	out := &PluginResults{Run: run.ID, Plugin: s.Plugin, Kind: plugin.KindIntelligence, Stage: st.Name, Data: st.Data, Report: s.Report}
	if s.Definition.IsReport() {
		out.Kind = plugin.KindReport
	}
	if st.Visualization != nil {
		out.Visualization = *st.Visualization
	}
	return out, nil
}
