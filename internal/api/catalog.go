package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// eventTypesList is GET /v1/event-types.
func (h *handler) eventTypesList(w http.ResponseWriter, r *http.Request) {
	types, err := h.store.EventTypeList(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if types == nil {
		types = []store.EventType{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"event_types": types})
}

// eventTypesRegister is POST /v1/event-types with an array of
// {"source_id", "type", "version"}: how types get into a strict catalog.
func (h *handler) eventTypesRegister(w http.ResponseWriter, r *http.Request) {
	body, err := h.requestBody(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var keys []store.EventTypeKey
	if err := dec.Decode(&keys); err != nil {
		h.writeError(w, r, badRequest("body must be a JSON array of {source_id, type, version}: "+err.Error()))
		return
	}
	for i, k := range keys {
		if err := event.ValidateEventType(k); err != nil {
			h.writeError(w, r, badRequest(fmt.Sprintf("event type %d: %v", i, err)))
			return
		}
	}
	added, err := h.store.EventTypeRegisterMany(r.Context(), keys)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"registered": added, "existing": len(keys) - added})
}

// sourcesList is GET /v1/sources.
func (h *handler) sourcesList(w http.ResponseWriter, r *http.Request) {
	sources, err := h.store.SourceList(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if sources == nil {
		sources = []store.Source{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sources": sources})
}

// stats is GET /v1/stats.
func (h *handler) stats(w http.ResponseWriter, r *http.Request) {
	st, err := h.store.Stats(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
