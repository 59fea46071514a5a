package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store"
)

// segmentRoutes registers the read side of segments: the definitions of
// the config in force with their sizes and runs, and their members.
func (h *handler) segmentRoutes(v1 *routeMux) {
	v1.Route(scopeRead, "GET /v1/segments", h.segmentList)
	v1.Route(scopeRead, "GET /v1/segments/{id}", h.segmentGet)
	v1.Route(scopeRead, "GET /v1/segments/{id}/members", h.segmentMembers)
}

// segmentInfo is a segment of the config in force as the API shows it:
// its definition (fields named, not the type embedded, so that a method
// the type gains cannot change this answer), size and last run.
type segmentInfo struct {
	ID          string            `json:"id"`
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	Condition   segment.Condition `json:"condition"`
	// Size is the current number of members.
	Size int64 `json:"size"`
	// Status is that of the last run: ok, error (with LastRun.Error), or
	// pending before the first.
	Status  string            `json:"status"`
	LastRun *store.SegmentRun `json:"last_run"`
}

// segmentPending is the status of a segment before its first run.
const segmentPending = "pending"

// segmentInfos describes the segments defs from their states.
func (h *handler) segmentInfos(r *http.Request, defs []segment.Definition) ([]segmentInfo, error) {
	ids := make([]string, len(defs))
	for i, d := range defs {
		ids[i] = d.ID
	}
	states, err := h.store.SegmentStates(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]segmentInfo, len(defs))
	for i, d := range defs {
		out[i] = segmentInfo{ID: d.ID, Name: d.Name, Description: d.Description, Condition: d.Condition, Status: segmentPending}
		if st := states[d.ID]; st != nil {
			out[i].Size, out[i].LastRun = st.Size, st.LastRun
			if st.LastRun != nil {
				out[i].Status = st.LastRun.Status
			}
		}
	}
	return out, nil
}

// segmentList is GET /v1/segments: every segment of the config in force.
func (h *handler) segmentList(w http.ResponseWriter, r *http.Request) {
	_, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	infos, err := h.segmentInfos(r, cfg.Segments)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"segments": infos})
}

// segmentHistoryDefault is how many runs GET /v1/segments/{id} shows
// without ?limit.
const segmentHistoryDefault = 100

// segmentGet is GET /v1/segments/{id}?limit=: a segment with its runs.
func (h *handler) segmentGet(w http.ResponseWriter, r *http.Request) {
	_, def, err := h.segmentInForce(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	limit, err := intParam(r.URL.Query().Get("limit"), segmentHistoryDefault, 1, store.SegmentRunListLimitMax, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	infos, err := h.segmentInfos(r, []segment.Definition{*def})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	history, err := h.store.SegmentRunList(r.Context(), def.ID, int(limit))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		segmentInfo
		// History are the runs, newest first: the size history.
		History []store.SegmentRun `json:"history"`
	}{infos[0], history})
}

// segmentInForce finds the segment of the request's path in the config in
// force; an unknown one is a 404.
func (h *handler) segmentInForce(r *http.Request) (*config.Config, *segment.Definition, error) {
	_, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("id")
	for i := range cfg.Segments {
		if cfg.Segments[i].ID == id {
			return cfg, &cfg.Segments[i], nil
		}
	}
	return nil, nil, &Error{http.StatusNotFound, "not_found", fmt.Sprintf("no segment %s in the config in force", clip.Quote(id))}
}

// segmentMember is one member in GET /v1/segments/{id}/members: the
// attributes asked for, typed as profiles type them.
type segmentMember struct {
	EntityID   string         `json:"entity_id"`
	EnteredAt  time.Time      `json:"entered_at"`
	Attributes map[string]any `json:"attributes"`
}

// entityIDPattern is an entity id as stitching makes them (hex of an
// MD5): what a members cursor is.
var entityIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// segmentMembers is GET /v1/segments/{id}/members?limit=&after=&attributes=a,b:
// a page of members by entity id; next, when more follow, is the after of
// the next page.
func (h *handler) segmentMembers(w http.ResponseWriter, r *http.Request) {
	cfg, def, err := h.segmentInForce(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), 100, 1, store.SegmentMemberListLimitMax, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	after := q.Get("after")
	if after != "" && !entityIDPattern.MatchString(after) {
		h.writeError(w, r, badRequest(fmt.Sprintf("after must be an entity id (32 hex digits, the next of a previous page), got %s", clip.Quote(after))))
		return
	}
	defs, err := memberAttributes(cfg.Attributes, q["attributes"])
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// One more than the page says whether another follows.
	ms, err := h.store.SegmentMemberList(r.Context(), &store.SegmentMemberListParams{SegmentID: def.ID, After: after, Limit: int(limit) + 1})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	page := map[string]any{}
	if len(ms) > int(limit) {
		ms = ms[:limit]
		page["next"] = ms[len(ms)-1].EntityID
	}
	members, err := h.withMemberAttributes(r, ms, defs)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	page["members"] = members
	writeJSON(w, http.StatusOK, page)
}

// memberAttributes are the definitions of ?attributes=a,b (the parameter
// may also be repeated; empty, it asks for none), in the order asked; an
// unknown one is a 400.
func memberAttributes(defs []attr.Definition, params []string) ([]attr.Definition, error) {
	var out []attr.Definition
	for _, p := range params {
		if p == "" {
			continue
		}
		for _, id := range strings.Split(p, ",") {
			def := findAttribute(defs, id)
			if def == nil {
				return nil, badRequest(fmt.Sprintf("attributes: unknown attribute %s (give ids of attributes of the config in force, separated by commas)", clip.Quote(id)))
			}
			out = append(out, *def)
		}
	}
	return out, nil
}

// withMemberAttributes reads the attributes defs of the members, one
// query for the page.
func (h *handler) withMemberAttributes(r *http.Request, ms []store.SegmentMember, defs []attr.Definition) ([]segmentMember, error) {
	out := make([]segmentMember, len(ms))
	var raw map[string]map[string][]string
	if len(defs) > 0 && len(ms) > 0 {
		ids := make([]string, len(ms))
		for i, m := range ms {
			ids[i] = m.EntityID
		}
		var err error
		if raw, err = h.store.AttributeValuesOf(r.Context(), ids); err != nil {
			return nil, err
		}
	}
	for i, m := range ms {
		out[i] = segmentMember{EntityID: m.EntityID, EnteredAt: m.EnteredAt, Attributes: attr.JSONValues(defs, raw[m.EntityID])}
	}
	return out, nil
}

// segmentsOfConfig fills in the segments of entities: those of the config
// in force they are members of, in one query for them all.
func (h *handler) segmentsOfConfig(r *http.Request, cfg *config.Config, es []store.Entity) error {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	of, err := h.store.SegmentsOf(r.Context(), ids)
	if err != nil {
		return err
	}
	inForce := make(map[string]bool, len(cfg.Segments))
	for _, s := range cfg.Segments {
		inForce[s.ID] = true
	}
	for i := range es {
		es[i].Segments = []string{}
		for _, s := range of[es[i].ID] {
			if inForce[s] {
				es[i].Segments = append(es[i].Segments, s)
			}
		}
	}
	return nil
}
