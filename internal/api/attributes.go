package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/store"
)

// withAttributes fills in the calculated attributes of entities, their
// plugin properties and their segments.
func (h *handler) withAttributes(r *http.Request, es []store.Entity) error {
	if len(es) == 0 {
		return nil
	}
	_, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		return err
	}
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	raw, err := h.store.AttributeValuesOf(r.Context(), ids)
	if err != nil {
		return err
	}
	props, err := h.store.PropertyValuesOf(r.Context(), ids)
	if err != nil {
		return err
	}
	for i := range es {
		es[i].Attributes = attr.JSONValues(cfg.Attributes, raw[es[i].ID])
		es[i].Properties = props[es[i].ID]
		if es[i].Properties == nil {
			es[i].Properties = map[string]json.RawMessage{}
		}
	}
	return h.segmentsOfConfig(r, cfg, es)
}

// attributesList is GET /v1/attributes.
func (h *handler) attributesList(w http.ResponseWriter, r *http.Request) {
	_, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	states, err := h.store.AttributeStates(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"attributes": attr.Infos(cfg.Attributes, states)})
}

// attributeValues is GET /v1/attributes/{id}/values?limit=: the value
// distribution from the cache.
func (h *handler) attributeValues(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	_, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	def := findAttribute(cfg.Attributes, id)
	if def == nil {
		h.writeError(w, r, &Error{http.StatusNotFound, "not_found", fmt.Sprintf("no attribute %s in the config in force", clip.Quote(id))})
		return
	}
	limit, err := intParam(r.URL.Query().Get("limit"), 100, 1, attr.ValuesCacheTop, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	customers, counts, err := h.store.AttributeValueCounts(r.Context(), id, int(limit))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	type valueCount struct {
		Value any   `json:"value"`
		Count int64 `json:"count"`
	}
	values := make([]valueCount, len(counts))
	for i, c := range counts {
		values[i] = valueCount{def.JSONValue(c.Value), c.Count}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "customers": customers, "values": values})
}

// attributesRun is POST /v1/attributes/run with
// {"from_scratch", "recalculate_all", "only": [ids]}.
func (h *handler) attributesRun(w http.ResponseWriter, r *http.Request) {
	var ro attr.RunOptions
	if err := h.decodeOptional(w, r, &ro); err != nil {
		h.writeError(w, r, err)
		return
	}
	if ro.FromScratch && ro.RecalculateAll {
		h.writeError(w, r, badRequest("from_scratch and recalculate_all exclude each other: from_scratch clears the values first, recalculate_all keeps them until replaced"))
		return
	}
	_, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	for _, id := range ro.Only {
		if def := findAttribute(cfg.Attributes, id); def == nil || !def.IsEnabled() {
			h.writeError(w, r, badRequest(fmt.Sprintf("only: %v: %s", attr.ErrUnknownAttribute, clip.Quote(id))))
			return
		}
	}
	params := map[string]any{"from_scratch": ro.FromScratch, "recalculate_all": ro.RecalculateAll}
	if ro.Only != nil {
		params["only"] = ro.Only
	}
	h.runAndAnswer(w, r, pipeline.AttributesJob, params)
}

func findAttribute(defs []attr.Definition, id string) *attr.Definition {
	for i := range defs {
		if defs[i].ID == id {
			return &defs[i]
		}
	}
	return nil
}
