package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/identitygraph"
	"github.com/weftdata/weft/internal/store"
)

// identityStore is what the identity routes read beyond store.Store.
type identityStore interface {
	identitygraph.Store
	EntityResolve(ctx context.Context, id string) (*store.EntityResolved, error)
	EntitySplits(ctx context.Context, id string) ([]store.Split, error)
	SplitLiveParts(ctx context.Context, parts []string) ([]string, error)
}

func (h *handler) identityDB() (identityStore, error) {
	db, ok := h.store.(identityStore)
	if !ok {
		return nil, errors.New("this store cannot read identity graphs")
	}
	return db, nil
}

// resolve says what an entity id stands for now: a live entity or a
// split; 404 for an id that never existed.
func (h *handler) resolve(ctx context.Context, id string) (identityStore, *store.EntityResolved, error) {
	db, err := h.identityDB()
	if err != nil {
		return nil, nil, err
	}
	res, err := db.EntityResolve(ctx, id)
	if err != nil {
		return nil, nil, entityErr(err, id)
	}
	return db, res, nil
}

// splitAnswer is a profile read of an id that split: the parts it became
// and their profiles, as a merged id answers with its survivor's.
type splitAnswer struct {
	ID        string         `json:"id"`
	SplitInto []string       `json:"split_into"`
	Parts     []store.Entity `json:"parts"`
}

// writeSplit answers a profile read of an id that split.
func (h *handler) writeSplit(w http.ResponseWriter, r *http.Request, db identityStore, id string, s *store.Split) {
	ans := splitAnswer{ID: id, SplitInto: s.Parts, Parts: []store.Entity{}}
	live, err := db.SplitLiveParts(r.Context(), s.Parts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	for _, p := range live {
		e, err := h.store.EntityGet(r.Context(), p)
		if err != nil {
			h.writeError(w, r, fmt.Errorf("read part %s of %s: %w", p, id, err))
			return
		}
		ans.Parts = append(ans.Parts, *e)
	}
	if err := h.withAttributes(r, ans.Parts); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// entityGraph is GET /v1/entities/{id}/graph, and with
// ?from=cat:value&to=cat:value the chain of links that joins the two.
func (h *handler) entityGraph(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, chain, err := chainParams(q.Get("from"), q.Get("to"), q.Has("from") || q.Has("to"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	db, res, err := h.resolve(r.Context(), id)
	if err == nil && res.Split != nil {
		err = &Error{http.StatusNotFound, "not_found", fmt.Sprintf("entity %s split into %s: ask for the graph of a part",
			clip.Quote(id), strings.Join(res.Split.Parts, ", "))}
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	e, err := h.store.EntityGet(r.Context(), res.Live)
	if err != nil {
		h.writeError(w, r, entityErr(err, res.Live))
		return
	}
	_, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if !chain {
		g, err := identitygraph.Read(r.Context(), db, e.ID, e.EventsCount, cfg.EffectiveStitching())
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, g)
		return
	}
	p, err := identitygraph.Chain(r.Context(), db, e.ID, e.EventsCount, cfg.EffectiveStitching(), from, to)
	var notIn *identitygraph.NotInEntityError
	if errors.As(err, &notIn) {
		err = &Error{http.StatusNotFound, "not_found", fmt.Sprintf("identifier %s is not in entity %s", clip.String(notIn.Key.String()), e.ID)}
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// chainParams reads ?from= and ?to=: both or neither (chain false), each
// category:value.
func chainParams(from, to string, asked bool) (f, t identitygraph.Key, chain bool, err error) {
	if !asked {
		return f, t, false, nil
	}
	if f, err = keyParam("from", from); err != nil {
		return f, t, false, err
	}
	t, err = keyParam("to", to)
	return f, t, true, err
}

func keyParam(name, s string) (identitygraph.Key, error) {
	if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
		return identitygraph.Key{}, badRequest(fmt.Sprintf("%s holds \\u0000 or bytes that are not UTF-8, which no identifier holds", name))
	}
	cat, val, ok := strings.Cut(s, ":")
	if !ok || cat == "" || val == "" {
		return identitygraph.Key{}, badRequest(fmt.Sprintf("%s %s must be an identifier category:value, e.g. email:jane@example.com (from and to go together)",
			name, clip.Quote(s)))
	}
	return identitygraph.Key{Category: cat, Value: val}, nil
}

// historyEntry is a merge or a split in an entity's history.
type historyEntry struct {
	Kind  string       `json:"kind"` // merge or split
	At    time.Time    `json:"at"`
	Merge *store.Merge `json:"merge,omitempty"`
	Split *store.Split `json:"split,omitempty"`
}

// entityHistory is GET /v1/entities/{id}/history: the merges and the
// splits of an entity, newest first. An id that split answers with its
// own history (its merges and the split that ended it).
func (h *handler) entityHistory(w http.ResponseWriter, r *http.Request) {
	id, merges, splits, err := h.mergesAndSplits(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]historyEntry, 0, len(merges)+len(splits))
	for i := range merges {
		out = append(out, historyEntry{Kind: "merge", At: merges[i].MergedAt, Merge: &merges[i]})
	}
	for i := range splits {
		out = append(out, historyEntry{Kind: "split", At: splits[i].SplitAt, Split: &splits[i]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	writeJSON(w, http.StatusOK, map[string]any{"entity_id": id, "history": out})
}

// mergesAndSplits reads the merges (oldest first) and the splits (newest
// first) of the entity a request names.
func (h *handler) mergesAndSplits(r *http.Request) (string, []store.Merge, []store.Split, error) {
	db, res, err := h.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		return "", nil, nil, err
	}
	id := res.Live
	if res.Split != nil {
		id = res.Split.EntityID
	}
	merges, err := h.store.EntityMerges(r.Context(), id)
	if err != nil {
		return "", nil, nil, err
	}
	splits, err := db.EntitySplits(r.Context(), id)
	return id, merges, splits, err
}
