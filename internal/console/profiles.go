package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/weftdata/weft/internal/identitygraph"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// profileStore is what the profile pages read beyond store.Store: the
// console's own queries of *store.DB (store/console_profiles.go).
type profileStore interface {
	store.Store
	ProfileRecent(ctx context.Context, limit int) ([]string, error)
	ProfileByValue(ctx context.Context, categories []string, value string, limit int) ([]store.ValueHolder, error)
	ProfileTimeline(ctx context.Context, p *store.ProfileTimelineParams) ([]store.Event, error)
	EntityResolve(ctx context.Context, id string) (*store.EntityResolved, error)
	SplitLiveParts(ctx context.Context, parts []string) ([]string, error)
	identitygraph.Store
}

// Bounds of the profile pages.
const (
	recentProfiles = 20  // entities listed without a query
	searchMatches  = 20  // entities a search lists at most
	timelinePage   = 50  // events per page of the timeline
	queryMax       = 512 // longest query searched for
)

func (c *Console) profileRoutes() {
	c.page(keys.ScopeRead, "GET "+Prefix+"profiles", c.profiles)
	c.page(keys.ScopeRead, "GET "+Prefix+"profiles/{id}", c.profile)
	c.addNav("Profiles", Prefix+"profiles", nil)
}

// profileDB returns the store as the profile pages read it.
func (c *Console) profileDB() (profileStore, error) {
	ps, ok := c.cfg.Store.(profileStore)
	if !ok {
		return nil, errors.New("this store cannot serve the profile pages")
	}
	return ps, nil
}

// match is an entity a search found, and how.
type match struct {
	ID  string
	Via string // "entity id" or the identifier categories
}

// searchView is the data of templates/profiles.html.
type searchView struct {
	Query   string
	Matches []match
	Recent  []string
	// Searched: a query was given (and matched none or several).
	Searched bool
}

// profiles is GET /console/profiles?q=: the search. One match goes to the
// profile (303); none or several are listed here. Without q, the entities
// of the newest events.
func (c *Console) profiles(w http.ResponseWriter, r *http.Request, s *Session) {
	db, err := c.profileDB()
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, err.Error())
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	v := searchView{Query: q}
	if q == "" {
		if v.Recent, err = db.ProfileRecent(r.Context(), recentProfiles); err != nil {
			c.fail(w, r, s, http.StatusInternalServerError, "The recent profiles could not be read: "+err.Error())
			return
		}
		c.show(w, r, s, "profiles", "Profiles", v)
		return
	}
	if len(q) > queryMax {
		c.fail(w, r, s, http.StatusBadRequest, "The query is longer than 512 bytes.")
		return
	}
	v.Searched = true
	if v.Matches, err = c.search(r.Context(), db, q); err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The search failed: "+err.Error())
		return
	}
	if len(v.Matches) == 1 {
		http.Redirect(w, r, profilePath(v.Matches[0].ID), http.StatusSeeOther)
		return
	}
	c.show(w, r, s, "profiles", "Profiles", v)
}

// search finds the live entities q names: category:value of a stitching
// category, an entity id (merged-away ones lead to their survivor), or a
// value of any category.
func (c *Console) search(ctx context.Context, db profileStore, q string) ([]match, error) {
	_, cfg, err := c.cfg.Pipeline.Config(ctx)
	if err != nil {
		return nil, err
	}
	cats := categories(cfg.EffectiveStitching().Rules)
	var found []match
	if cat, val, ok := strings.Cut(q, ":"); ok && contains(cats, cat) {
		id, err := db.EntityFind(ctx, cat, val)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []match{{ID: id, Via: cat}}, nil
	}
	id, err := db.EntityLive(ctx, q)
	switch {
	case err == nil:
		found = append(found, match{ID: id, Via: "entity id"})
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	// identifiers.entity_id is always a live entity: merges move the
	// losers' identifiers to their survivor.
	holders, err := db.ProfileByValue(ctx, cats, q, searchMatches)
	if err != nil {
		return nil, err
	}
	for _, h := range holders {
		found = append(found, match{ID: h.EntityID, Via: h.Category})
	}
	return dedupe(found), nil
}

// dedupe keeps the first match of each entity, joining how each was found.
func dedupe(ms []match) []match {
	var out []match
	at := map[string]int{}
	for _, m := range ms {
		if i, ok := at[m.ID]; ok {
			out[i].Via += ", " + m.Via
			continue
		}
		at[m.ID] = len(out)
		out = append(out, m)
	}
	return out
}

// categories lists the identifier categories the rules read, sorted.
func categories(rules []stitch.Rule) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rules {
		if !seen[r.Identifier] {
			seen[r.Identifier] = true
			out = append(out, r.Identifier)
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	i := sort.SearchStrings(list, s)
	return i < len(list) && list[i] == s
}

func profilePath(id string) string { return Prefix + "profiles/" + url.PathEscape(id) }
