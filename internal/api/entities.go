package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/store"
)

// entityGet is GET /v1/entities/{id}. A merged id answers with its
// survivor (merged_from set), an id that split with its parts.
func (h *handler) entityGet(w http.ResponseWriter, r *http.Request) {
	db, res, err := h.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if res.Split != nil {
		h.writeSplit(w, r, db, r.PathValue("id"), res.Split)
		return
	}
	e, err := h.store.EntityGet(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, entityErr(err, r.PathValue("id")))
		return
	}
	h.writeEntity(w, r, e)
}

// writeEntity answers with a profile and its attributes.
func (h *handler) writeEntity(w http.ResponseWriter, r *http.Request, e *store.Entity) {
	es := []store.Entity{*e}
	if err := h.withAttributes(r, es); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, es[0])
}

func entityErr(err error, id string) error {
	if err == store.ErrNotFound {
		return &Error{http.StatusNotFound, "not_found", fmt.Sprintf("no entity %s", clip.Quote(id))}
	}
	return err
}

// entitiesList is GET /v1/entities?identifier=category:value, or a page of
// all live entities with ?limit=&after=.
func (h *handler) entitiesList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if ident, ok := q["identifier"]; ok {
		h.entityByIdentifier(w, r, ident[0])
		return
	}
	limit, err := intParam(q.Get("limit"), 100, 1, store.EntityListLimitMax, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	es, err := h.store.EntityList(r.Context(), &store.EntityListParams{After: q.Get("after"), Limit: int(limit)})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if es == nil {
		es = []store.Entity{}
	}
	if err := h.withAttributes(r, es); err != nil {
		h.writeError(w, r, err)
		return
	}
	page := map[string]any{"entities": es}
	if len(es) == int(limit) {
		page["next"] = es[len(es)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

func (h *handler) entityByIdentifier(w http.ResponseWriter, r *http.Request, ident string) {
	cat, val, ok := strings.Cut(ident, ":")
	if !ok || cat == "" {
		h.writeError(w, r, badRequest(fmt.Sprintf("identifier %s must be category:value, e.g. stitching_email:jane@example.com", clip.Quote(ident))))
		return
	}
	id, err := h.store.EntityFind(r.Context(), cat, val)
	if err == store.ErrNotFound {
		h.writeError(w, r, &Error{http.StatusNotFound, "not_found", fmt.Sprintf("no entity holds identifier %s", clip.String(cat+":"+val))})
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	e, err := h.store.EntityGet(r.Context(), id)
	if err != nil {
		h.writeError(w, r, entityErr(err, id))
		return
	}
	h.writeEntity(w, r, e)
}

// entityEvents is GET /v1/entities/{id}/events?limit=&after_seq=.
func (h *handler) entityEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), 100, 1, store.EventListLimitMax, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	after, err := intParam(q.Get("after_seq"), 0, 0, 1<<63-1, "after_seq")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	live, err := h.store.EntityLive(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, entityErr(err, r.PathValue("id")))
		return
	}
	events, err := h.store.EntityEvents(r.Context(), &store.EntityEventsParams{ID: live, AfterSeq: after, Limit: int(limit)})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	page := map[string]any{"entity_id": live, "events": events}
	if len(events) == int(limit) {
		page["next_after_seq"] = events[len(events)-1].Seq
	}
	writeJSON(w, http.StatusOK, page)
}

// entityMerges is GET /v1/entities/{id}/merges: the merges, oldest
// first, and the splits, newest first (GET .../history interleaves them).
func (h *handler) entityMerges(w http.ResponseWriter, r *http.Request) {
	live, merges, splits, err := h.mergesAndSplits(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entity_id": live, "merges": merges, "splits": splits})
}
