package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// repairRoutes registers the routes that repair identity by hand: each
// stores a constraint (store.StitchConstraint) that every later pass and
// rebuild honours, and re-clusters the entities it touches now.
func (h *handler) repairRoutes(v1 *routeMux) {
	v1.Route(scopeAdmin, "POST /v1/entities/{id}/split", h.repair(h.split))
	v1.Route(scopeAdmin, "POST /v1/entities/merge", h.repair(h.merge))
	v1.Route(scopeAdmin, "POST /v1/identifiers/block", h.repair(h.block))
	v1.Route(scopeAdmin, "GET /v1/identity/constraints", h.constraintsList)
	v1.Route(scopeAdmin, "DELETE /v1/identity/constraints/{id}", h.repair(h.unconstrain))
}

// repair serves a route that repairs identity: 200 with fn's answer.
func (h *handler) repair(fn func(http.ResponseWriter, *http.Request) (*Repair, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ans, err := fn(w, r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, ans)
	}
}

// Repair is the answer of the routes that repair identity by hand: the
// constraint added or removed, what re-clustering did, and the entities
// concerned, as each route says.
type Repair struct {
	Constraint *store.StitchConstraint `json:"constraint"`
	Result     *stitch.Result          `json:"result"`
	// Split (POST /v1/entities/{id}/split) names the entities that hold
	// the identifiers split off and those that hold the others, after
	// re-clustering: one each, apart, when the split took.
	Split *SplitEntities `json:"split,omitempty"`
	// EntityID (POST /v1/entities/merge) is the surviving entity.
	EntityID string `json:"entity_id,omitempty"`
	// Entities are, for a merge, those that hold the first events of the
	// entities merged (the survivor alone when the merge took); for a
	// block, those that held or carried the identifier; for a removal,
	// those re-clustered.
	Entities []string `json:"entities,omitempty"`
	// Splits (POST /v1/identifiers/block) are the splits the block made.
	Splits []store.SplitByConstraint `json:"splits,omitempty"`
}

// SplitEntities are the entities on either side of a split.
type SplitEntities struct {
	Identifiers []string `json:"identifiers"`
	ApartFrom   []string `json:"apart_from"`
}

// repairDB is the store as the repair routes need it.
func (h *handler) repairDB() (*store.DB, error) {
	db, ok := h.store.(*store.DB)
	if !ok || h.pipeline == nil {
		return nil, &Error{http.StatusNotFound, "not_found", "this server keeps no identity constraints"}
	}
	return db, nil
}

// unprocessable is a well-formed request that names what is not so: an
// identifier the entity does not hold.
func unprocessable(msg string) error {
	return &Error{http.StatusUnprocessableEntity, "unprocessable", msg}
}

// constrain stores a constraint added by the request's key and re-clusters
// the entities it touches. Should re-clustering fail, the constraint goes
// again: a later incremental pass re-clusters only what its events touch,
// so a constraint stored but not applied would wait for a rebuild.
func (h *handler) constrain(ctx context.Context, db *store.DB, kind string, spec any, ids []string) (*Repair, error) {
	c, err := db.StitchConstraintAdd(ctx, &store.StitchConstraintAddParams{Kind: kind, Spec: spec, CreatedBy: keyName(ctx)})
	if err != nil {
		return nil, err
	}
	res, err := h.pipeline.Recluster(ctx, ids, c.ID)
	if err != nil {
		if _, undo := db.StitchConstraintDelete(context.WithoutCancel(ctx), c.ID); undo != nil {
			err = errors.Join(err, undo)
		}
		return nil, err
	}
	return &Repair{Constraint: c, Result: res}, nil
}

// keyName names who asks, for the constraint's created_by.
func keyName(ctx context.Context) string {
	if k := keys.FromContext(ctx); k != nil {
		return k.Name
	}
	return ""
}

// split is POST /v1/entities/{id}/split {"identifiers": [...]}: the
// events linked through the identifiers (each "category:value" or
// {"category", "value"}) move into an entity of their own, kept apart
// from the entity's other identifiers.
func (h *handler) split(w http.ResponseWriter, r *http.Request) (*Repair, error) {
	db, err := h.repairDB()
	if err != nil {
		return nil, err
	}
	var req struct {
		Identifiers []json.RawMessage `json:"identifiers"`
	}
	if err := h.decodeStrict(w, r, &req); err != nil {
		return nil, err
	}
	moved, err := identifierParams(req.Identifiers)
	if err != nil {
		return nil, err
	}
	if len(moved) == 0 {
		return nil, badRequest(`identifiers is empty: name the identifiers to split off, e.g. {"identifiers": ["email:jane@example.com"]}`)
	}
	ctx := r.Context()
	e, err := db.EntityGet(ctx, r.PathValue("id"))
	if err != nil {
		return nil, entityErr(err, r.PathValue("id"))
	}
	apart, err := keptApart(ctx, e, moved)
	if err != nil {
		return nil, err
	}
	rep, err := h.constrain(ctx, db, store.ConstraintSplit, store.SplitSpec{Entity: e.ID, Identifiers: moved, ApartFrom: apart}, []string{e.ID})
	if err != nil {
		return nil, err
	}
	audit.Summarize(ctx, "split entity %s: %d identifiers (%s) kept apart from its %d others; constraint %s",
		e.ID, len(moved), categories(moved), len(apart), rep.Constraint.ID)
	rep.Split = &SplitEntities{}
	if rep.Split.Identifiers, err = holderIDs(ctx, db, moved, false); err != nil {
		return nil, err
	}
	if rep.Split.ApartFrom, err = holderIDs(ctx, db, apart, false); err != nil {
		return nil, err
	}
	return rep, nil
}

// keptApart checks that the entity holds every identifier moved and keeps
// one at least, and returns the ones it keeps.
func keptApart(ctx context.Context, e *store.Entity, moved []store.Identifier) ([]store.Identifier, error) {
	for i, m := range moved {
		if !slices.Contains(e.Identifiers[m.Category], m.Value) {
			// The answer names the identifier; the audit trail keeps no value.
			audit.Summarize(ctx, "refused: identifiers[%d] (category %s) is not held by entity %s", i, m.Category, e.ID)
			return nil, unprocessable(fmt.Sprintf("identifiers[%d]: entity %s does not hold identifier %s (GET /v1/entities/%s lists the ones it holds)",
				i, e.ID, clip.String(m.String()), e.ID))
		}
	}
	var apart []store.Identifier
	for _, cat := range slices.Sorted(maps.Keys(e.Identifiers)) {
		for _, v := range e.Identifiers[cat] {
			if id := (store.Identifier{Category: cat, Value: v}); !slices.Contains(moved, id) {
				apart = append(apart, id)
			}
		}
	}
	if len(apart) == 0 {
		return nil, badRequest(fmt.Sprintf("identifiers name all %d identifiers of entity %s: keep one at least, to split the others from", len(moved), e.ID))
	}
	return apart, nil
}

// identifierParams reads the identifiers of a body, each "category:value"
// or {"category", "value"}, without repeats.
func identifierParams(raw []json.RawMessage) ([]store.Identifier, error) {
	var out []store.Identifier
	for i, m := range raw {
		id, err := identifierParam(m)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("identifiers[%d]: %v", i, err))
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func identifierParam(m json.RawMessage) (store.Identifier, error) {
	var id store.Identifier
	var s string
	if json.Unmarshal(m, &s) == nil {
		cat, val, ok := strings.Cut(s, ":")
		if !ok {
			return id, fmt.Errorf("%s must be category:value, e.g. email:jane@example.com", clip.Quote(s))
		}
		id = store.Identifier{Category: cat, Value: val}
	} else {
		dec := json.NewDecoder(strings.NewReader(string(m)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&id); err != nil {
			return id, errors.New(`must be "category:value" or {"category": ..., "value": ...}`)
		}
	}
	return id, checkIdentifier(id)
}

// checkIdentifier refuses an identifier no stitching rule can produce.
func checkIdentifier(id store.Identifier) error {
	switch {
	case id.Category == "":
		return errors.New("category is empty")
	case id.Value == "":
		return errors.New("value is empty")
	case strings.ContainsRune(id.Category+id.Value, 0):
		return errors.New(`holds \u0000, which no identifier holds`)
	}
	return nil
}

// categories lists the identifiers' categories, for audit summaries,
// which hold no identifier value (personal data).
func categories(ids []store.Identifier) string {
	var cats []string
	for _, id := range ids {
		if !slices.Contains(cats, id.Category) {
			cats = append(cats, id.Category)
		}
	}
	return strings.Join(cats, ", ")
}

// holderIDs returns the entities that hold the identifiers (and, with
// refused, those that carry them unjoined), sorted, without repeats.
func holderIDs(ctx context.Context, db *store.DB, ids []store.Identifier, refused bool) ([]string, error) {
	holders, err := db.IdentifierHolders(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, h := range holders {
		if (refused || !h.Refused) && !slices.Contains(out, h.EntityID) {
			out = append(out, h.EntityID)
		}
	}
	slices.Sort(out)
	return out, nil
}

// merge is POST /v1/entities/merge {"ids": [...]}: the entities are one
// from now on, whatever the guard rails say.
func (h *handler) merge(w http.ResponseWriter, r *http.Request) (*Repair, error) {
	db, err := h.repairDB()
	if err != nil {
		return nil, err
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := h.decodeStrict(w, r, &req); err != nil {
		return nil, err
	}
	if len(req.IDs) < 2 {
		return nil, badRequest(fmt.Sprintf(`ids names %d entities: a merge needs two at least, e.g. {"ids": ["a1", "b2"]}`, len(req.IDs)))
	}
	ctx := r.Context()
	lives, err := distinctLive(ctx, db, req.IDs)
	if err != nil {
		return nil, err
	}
	first, err := db.EntityFirstEvents(ctx, lives)
	if err != nil {
		return nil, err
	}
	spec := store.MergeSpec{Entities: lives}
	var earliest store.FirstEvent
	for i, id := range lives {
		f, ok := first[id]
		if !ok {
			return nil, fmt.Errorf("entity %s has no events", id)
		}
		spec.Events = append(spec.Events, f.EventID)
		if i == 0 || f.EventTime.Before(earliest.EventTime) || f.EventTime.Equal(earliest.EventTime) && f.EventID < earliest.EventID {
			earliest = f
		}
	}
	rep, err := h.constrain(ctx, db, store.ConstraintMerge, spec, lives)
	if err != nil {
		return nil, err
	}
	audit.Summarize(ctx, "merged entities %s; constraint %s", strings.Join(lives, ", "), rep.Constraint.ID)
	// The survivor holds the earliest first event (see stitch's doc).
	in, err := db.EventEntities(ctx, spec.Events)
	if err != nil {
		return nil, err
	}
	rep.EntityID = in[earliest.EventID]
	for _, ev := range spec.Events {
		if !slices.Contains(rep.Entities, in[ev]) {
			rep.Entities = append(rep.Entities, in[ev])
		}
	}
	slices.Sort(rep.Entities)
	return rep, nil
}

// distinctLive resolves ids to the live entities they are or were merged
// into, refusing an unknown id and two ids of one entity.
func distinctLive(ctx context.Context, db *store.DB, ids []string) ([]string, error) {
	asked := map[string]string{} // live id -> the id asked
	var out []string
	for _, id := range ids {
		live, err := db.EntityLive(ctx, id)
		if err != nil {
			return nil, entityErr(err, id)
		}
		prev, dup := asked[live]
		switch {
		case dup && prev == id:
			return nil, badRequest(fmt.Sprintf("ids names entity %s twice: merging an entity with itself does nothing", clip.Quote(id)))
		case dup:
			return nil, badRequest(fmt.Sprintf("ids %s and %s are one entity already (%s): merging an entity with itself does nothing",
				clip.Quote(prev), clip.Quote(id), clip.Quote(live)))
		}
		asked[live] = id
		out = append(out, live)
	}
	return out, nil
}

// block is POST /v1/identifiers/block {"category", "value"}: the value
// never links from now on; the entities it joined are re-clustered
// without it.
func (h *handler) block(w http.ResponseWriter, r *http.Request) (*Repair, error) {
	db, err := h.repairDB()
	if err != nil {
		return nil, err
	}
	var id store.Identifier
	if err := h.decodeStrict(w, r, &id); err != nil {
		return nil, err
	}
	if err := checkIdentifier(id); err != nil {
		return nil, badRequest(err.Error())
	}
	ctx := r.Context()
	if err := h.checkBlock(ctx, db, id); err != nil {
		return nil, err
	}
	ids, err := holderIDs(ctx, db, []store.Identifier{id}, true)
	if err != nil {
		return nil, err
	}
	rep, err := h.constrain(ctx, db, store.ConstraintBlock, id, ids)
	if err != nil {
		return nil, err
	}
	audit.Summarize(ctx, "blocked a value of category %s, held by %d entities; constraint %s", id.Category, len(ids), rep.Constraint.ID)
	rep.Entities = ids
	if rep.Splits, err = db.StitchConstraintSplits(ctx, rep.Constraint.ID); err != nil {
		return nil, err
	}
	return rep, nil
}

// checkBlock refuses a block of a category no stitching rule reads, and
// one that is in force already.
func (h *handler) checkBlock(ctx context.Context, db *store.DB, id store.Identifier) error {
	rules, err := h.pipeline.StitchingRules(ctx)
	if err != nil {
		return err
	}
	var cats []string
	for _, r := range rules.Rules {
		if !slices.Contains(cats, r.Identifier) {
			cats = append(cats, r.Identifier)
		}
	}
	if !slices.Contains(cats, id.Category) {
		slices.Sort(cats)
		return badRequest(fmt.Sprintf("unknown category %s: the stitching rules read %s", clip.Quote(id.Category), orNothing(strings.Join(cats, ", "))))
	}
	list, err := db.StitchConstraintList(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		var b store.Identifier
		if c.Kind == store.ConstraintBlock && json.Unmarshal(c.Spec, &b) == nil && b == id {
			return &Error{http.StatusConflict, "conflict", fmt.Sprintf("this value of category %s is blocked already, by constraint %s", id.Category, c.ID)}
		}
	}
	return nil
}

func orNothing(s string) string {
	if s == "" {
		return "nothing (no config applied)"
	}
	return s
}

// constraintsList is GET /v1/identity/constraints: every constraint,
// newest first, with who added it and when.
func (h *handler) constraintsList(w http.ResponseWriter, r *http.Request) {
	db, err := h.repairDB()
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	list, err := db.StitchConstraintList(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]store.StitchConstraint{"constraints": list})
}

// unconstrain is DELETE /v1/identity/constraints/{id}: the constraint is
// no longer honoured, and the entities it touches are re-clustered without
// it; should re-clustering fail, the constraint is put back (see
// constrain).
func (h *handler) unconstrain(_ http.ResponseWriter, r *http.Request) (*Repair, error) {
	ctx, id := r.Context(), r.PathValue("id")
	db, err := h.repairDB()
	if err != nil {
		return nil, err
	}
	c, err := db.StitchConstraintGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{http.StatusNotFound, "not_found", fmt.Sprintf("no identity constraint %s (GET /v1/identity/constraints lists them)", clip.Quote(id))}
	}
	if err != nil {
		return nil, err
	}
	ids, err := h.touched(ctx, db, c)
	if err != nil {
		return nil, err
	}
	if c, err = db.StitchConstraintDelete(ctx, id); err != nil {
		return nil, err
	}
	res, err := h.pipeline.Recluster(ctx, ids, "")
	if err != nil {
		if undo := db.StitchConstraintPut(context.WithoutCancel(ctx), c); undo != nil {
			err = errors.Join(err, undo)
		}
		return nil, err
	}
	audit.Summarize(ctx, "removed %s constraint %s (added by %s); %d entities re-clustered", c.Kind, c.ID, c.CreatedBy, len(ids))
	return &Repair{Constraint: c, Result: res, Entities: ids}, nil
}

// touched returns the live entities a constraint concerns: those holding
// or carrying its identifiers, or holding its events, and the parts of
// the splits it made.
func (h *handler) touched(ctx context.Context, db *store.DB, c *store.StitchConstraint) ([]string, error) {
	// The kinds' specs share no field: one value reads any of them.
	var spec struct {
		store.Identifier
		store.MergeSpec
		store.SplitSpec
	}
	if err := json.Unmarshal(c.Spec, &spec); err != nil {
		return nil, fmt.Errorf("constraint %s: %w", c.ID, err)
	}
	var ids []string
	var idents []store.Identifier
	switch c.Kind {
	case store.ConstraintSplit:
		idents = append(slices.Clip(spec.Identifiers), spec.ApartFrom...)
		ids = append(ids, spec.Entity)
	case store.ConstraintBlock:
		idents = []store.Identifier{spec.Identifier}
		// A blocked value is held by no entity: the rules find the
		// entities whose events carry it.
		carriers, err := h.pipeline.Carriers(ctx, spec.Category, spec.Value)
		if err != nil {
			return nil, err
		}
		ids = append(ids, carriers...)
	case store.ConstraintMerge:
		in, err := db.EventEntities(ctx, spec.Events)
		if err != nil {
			return nil, err
		}
		ids = slices.AppendSeq(ids, maps.Values(in))
	}
	held, err := holderIDs(ctx, db, idents, true)
	if err != nil {
		return nil, err
	}
	splits, err := db.StitchConstraintSplits(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	ids = append(ids, held...)
	for _, s := range splits {
		ids = append(append(ids, s.EntityID), s.Parts...)
	}
	return liveIDs(ctx, db, ids)
}

// liveIDs resolves ids to the live entities they are or were merged into,
// sorted, without repeats; ids of no entity are dropped.
func liveIDs(ctx context.Context, db *store.DB, ids []string) ([]string, error) {
	out := []string{}
	for _, id := range ids {
		live, err := db.EntityLive(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, live) {
			out = append(out, live)
		}
	}
	slices.Sort(out)
	return out, nil
}
