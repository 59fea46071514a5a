package api

import (
	"context"
	"net/http"

	"github.com/weftdata/weft/internal/audit"
)

// attributesRefreshContext is POST /v1/attributes/refresh-context: every
// context query runs now, whatever the age of its value (Meiro's "UPDATE
// context SET modified = NULL"). The body is empty or {}.
func (h *handler) attributesRefreshContext(w http.ResponseWriter, r *http.Request) {
	h.force(w, r, func(ctx context.Context) (any, error) {
		res, err := h.pipeline.RefreshContexts(ctx)
		if err == nil {
			audit.Summarize(ctx, "refreshed %d context queries (%d failed) in %.0f ms", res.Refreshed, res.Failed, res.DurationMS)
		}
		return res, err
	})
}

// attributesRefreshCaches is POST /v1/attributes/refresh-caches: the
// attribute caches (customers per attribute, value counts) are counted
// again from the values ("How to force cache update"). The body is empty
// or {}.
func (h *handler) attributesRefreshCaches(w http.ResponseWriter, r *http.Request) {
	h.force(w, r, func(ctx context.Context) (any, error) {
		res, err := h.pipeline.RefreshCaches(ctx)
		if err == nil {
			audit.Summarize(ctx, "recounted the caches of %d attributes in %.0f ms", len(res.Attributes), res.DurationMS)
		}
		return res, err
	})
}

// force runs a force operation of a body-less route and answers with its
// result.
func (h *handler) force(w http.ResponseWriter, r *http.Request, op func(context.Context) (any, error)) {
	if err := h.decodeOptional(w, r, &struct{}{}); err != nil {
		h.writeError(w, r, err)
		return
	}
	res, err := op(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
