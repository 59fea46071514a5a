package api

import (
	"net/http"

	"github.com/weftdata/weft/internal/audit"
)

// attributesRefreshContext is POST /v1/attributes/refresh-context: every
// context query runs now, whatever the age of its value (Meiro's "UPDATE
// context SET modified = NULL"). The body is empty or {}.
func (h *handler) attributesRefreshContext(w http.ResponseWriter, r *http.Request) {
	if err := h.decodeOptional(w, r, &struct{}{}); err != nil {
		h.writeError(w, r, err)
		return
	}
	res, err := h.pipeline.RefreshContexts(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	audit.Summarize(r.Context(), "refreshed %d context queries (%d failed) in %.0f ms", res.Refreshed, res.Failed, res.DurationMS)
	writeJSON(w, http.StatusOK, res)
}

// attributesRefreshCaches is POST /v1/attributes/refresh-caches: the
// attribute caches (customers per attribute, value counts) are counted
// again from the values ("How to force cache update"). The body is empty
// or {}.
func (h *handler) attributesRefreshCaches(w http.ResponseWriter, r *http.Request) {
	if err := h.decodeOptional(w, r, &struct{}{}); err != nil {
		h.writeError(w, r, err)
		return
	}
	res, err := h.pipeline.RefreshCaches(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	audit.Summarize(r.Context(), "recounted the caches of %d attributes in %.0f ms", len(res.Attributes), res.DurationMS)
	writeJSON(w, http.StatusOK, res)
}
