package api

import (
	"errors"
	"net/http"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/destination"
)

// destinationRoutes serves the destinations of weft.yaml: their cursor,
// runs and dead letters, and replays.
func (h *handler) destinationRoutes(v1 *routeMux) {
	v1.Route(scopeRead, "GET /v1/destinations", h.destinationsList)
	v1.Route(scopeRead, "GET /v1/destinations/{id}", h.destinationGet)
	v1.Route(scopeRead, "GET /v1/destinations/{id}/dead-letters", h.destinationDeadLetters)
	v1.Route(scopeJobs, "POST /v1/destinations/{id}/dead-letters/replay", h.destinationReplay)
}

// destinationError maps the errors of package destination.
func destinationError(err error) (int, string, bool) {
	if errors.Is(err, destination.ErrNoDeadLetters) {
		return http.StatusConflict, "no_dead_letters", true
	}
	return 0, "", false
}

// destinationsList is GET /v1/destinations.
func (h *handler) destinationsList(w http.ResponseWriter, r *http.Request) {
	list, err := h.pipeline.Destinations().List(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"destinations": list})
}

// destinationGet is GET /v1/destinations/{id}.
func (h *handler) destinationGet(w http.ResponseWriter, r *http.Request) {
	st, err := h.pipeline.Destinations().Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// destinationDeadLetters is GET /v1/destinations/{id}/dead-letters?after=&limit=:
// oldest first; next is the after of the next page (null on the last).
func (h *handler) destinationDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := intParam(q.Get("after"), 0, 0, 1<<62, "after")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	limit, err := intParam(q.Get("limit"), 100, 1, destination.DeadLettersLimitMax, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	list, err := h.pipeline.Destinations().DeadLetters(r.Context(), r.PathValue("id"), after, int(limit))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var next *int64
	if len(list) == int(limit) {
		next = &list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": list, "next": next})
}

// destinationReplay is POST /v1/destinations/{id}/dead-letters/replay
// with {"ids": [...]} (or no body: every dead letter not yet delivered).
func (h *handler) destinationReplay(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IDs []int64 `json:"ids"`
	}
	if err := h.decodeOptional(w, r, &body); err != nil {
		h.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	res, err := h.pipeline.Destinations().Replay(r.Context(), id, body.IDs)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	audit.Summarize(r.Context(), "destination %s: %d dead letters to replay", id, res.Replaying)
	writeJSON(w, http.StatusAccepted, res)
}
