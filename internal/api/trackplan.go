package api

import (
	"net/http"
	"time"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/trackplan"
)

// trackingPlanRoutes serves the tracking plan's violations and exports
// its counter with the API's metrics.
func (h *handler) trackingPlanRoutes(v1 *routeMux) {
	v1.Route(scopeRead, "GET /v1/tracking-plan/violations", h.trackingPlanViolations)
	if h.trackplan != nil {
		h.metrics.registry.MustRegister(h.trackplan.Collector())
	}
}

// trackingPlanViolations is GET /v1/tracking-plan/violations?type=&since=&limit=:
// counts per event type, rule and mode, and the newest examples.
func (h *handler) trackingPlanViolations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := trackplan.Filter{Type: q.Get("type")}
	if len(f.Type) > 1000 {
		h.writeError(w, r, badRequest("type is longer than 1000 bytes"))
		return
	}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			h.writeError(w, r, badRequest("since must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got "+cut(s, 100)))
			return
		}
		f.Since = t
	}
	limit, err := intParam(q.Get("limit"), trackplan.ExamplesMax, 1, trackplan.ExamplesMax, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	f.Limit = int(limit)
	db, ok := h.store.(store.Executor)
	if !ok {
		h.writeError(w, r, &Error{http.StatusNotFound, "not_found", "this server keeps no tracking plan violations"})
		return
	}
	report, err := trackplan.Violations(r.Context(), db, f)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}
