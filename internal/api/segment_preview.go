package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store"
)

// segmentPreviewRoutes registers the preview of a condition tree.
func (h *handler) segmentPreviewRoutes(v1 *routeMux) {
	v1.Route(scopeRead, "POST /v1/segments/preview", h.segmentPreview)
}

// segmentPreviewRequest is the body of POST /v1/segments/preview.
type segmentPreviewRequest struct {
	Condition *segment.Condition `json:"condition"`
}

// SegmentPreview is the answer of POST /v1/segments/preview.
type SegmentPreview struct {
	Count  int64              `json:"count"`
	Sample []segmentSampleRow `json:"sample"`
}

// segmentSampleRow is a profile of a preview's sample.
type segmentSampleRow struct {
	EntityID    string              `json:"entity_id"`
	Identifiers map[string][]string `json:"identifiers"`
	Attributes  map[string]any      `json:"attributes"`
}

// segmentPreview is POST /v1/segments/preview: the members a condition
// tree (not saved) has now, counted, with a sample of profiles.
func (h *handler) segmentPreview(w http.ResponseWriter, r *http.Request) {
	var req segmentPreviewRequest
	if err := h.decodeOptional(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Condition == nil {
		h.writeError(w, r, badRequest(`the body needs a condition tree: {"condition": {...}}`))
		return
	}
	p, err := h.pipeline.SegmentPreview(r.Context(), req.Condition)
	var segErr *segment.Error
	if errors.As(err, &segErr) {
		h.writeError(w, r, &Error{http.StatusBadRequest, "invalid_condition", segErr.Error()})
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// The sample's profiles in one read per part, not one per member: a
	// profile read by id scans the identifiers and the event mappings.
	es, err := h.store.CustomerGet(r.Context(), p.Sample)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// In the sample's order (by id); members erased since are left out.
	slices.SortFunc(es, func(a, b store.Entity) int { return strings.Compare(a.ID, b.ID) })
	if err := h.withAttributes(r, es); err != nil {
		h.writeError(w, r, err)
		return
	}
	out := SegmentPreview{Count: p.Count, Sample: make([]segmentSampleRow, len(es))}
	for i, e := range es {
		out.Sample[i] = segmentSampleRow{EntityID: e.ID, Identifiers: e.Identifiers, Attributes: e.Attributes}
	}
	writeJSON(w, http.StatusOK, out)
}
