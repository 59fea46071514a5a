package api

import "net/http"

// propertiesList is GET /v1/properties: the published plugin properties.
func (h *handler) propertiesList(w http.ResponseWriter, r *http.Request) {
	ps, err := h.plugins.Properties(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"properties": ps})
}
