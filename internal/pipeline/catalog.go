package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/weftdata/weft/internal/config"
)

// catalogNames are the names the event types of the catalog answer to, by
// how a config refers to them.
type catalogNames struct {
	full       map[string]bool // source/type/version
	sourceType map[string]bool // source/type
	sources    map[string]bool
	types      map[string]bool
	versions   map[string]bool
}

// checkCatalog finds the event types a config names (the events of
// stitching rules, the sources, types and versions of attribute filters,
// plugin goal events) that the catalog does not know: such a name reads no
// event, so a typo silently drops events from profiles. Each comes back as
// a warning with the near matches; with strict, the config is refused. An
// empty catalog is not checked: nothing has arrived yet, so every name
// would be unknown.
func (p *Pipeline) checkCatalog(ctx context.Context, cfg *config.Config) ([]string, error) {
	types, err := p.db.EventTypeList(ctx)
	if err != nil {
		return nil, err
	}
	if len(types) == 0 && !p.opts.StrictCatalog {
		return nil, nil
	}
	n := catalogNames{full: map[string]bool{}, sourceType: map[string]bool{}, sources: map[string]bool{}, types: map[string]bool{}, versions: map[string]bool{}}
	for _, t := range types {
		n.full[t.SourceID+"/"+t.Type+"/"+t.Version] = true
		n.sourceType[t.SourceID+"/"+t.Type] = true
		n.sources[t.SourceID], n.types[t.Type], n.versions[t.Version] = true, true, true
	}
	var warnings []string
	unknown := func(field, what, name string, known map[string]bool) {
		if known[name] {
			return
		}
		msg := fmt.Sprintf("%s: %s %s is not in the catalog", field, what, name)
		if near := nearMatches(name, known); len(near) > 0 {
			msg += "; did you mean " + strings.Join(near, " or ") + "?"
		}
		warnings = append(warnings, msg)
	}
	for i, r := range cfg.Stitching.Rules {
		field := "stitching.rules[" + strconv.Itoa(i) + "].event"
		parts := strings.Split(r.Event, "/")
		switch {
		case len(parts) == 2 && parts[1] == "*":
			unknown(field, "source", parts[0], n.sources)
		case len(parts) == 2:
			unknown(field, "event type", r.Event, n.sourceType)
		case len(parts) == 3:
			unknown(field, "event type", r.Event, n.full)
		}
	}
	for _, a := range cfg.Attributes {
		for _, f := range []struct {
			name, what string
			list       []string
			known      map[string]bool
		}{{"sources", "source", a.Sources, n.sources}, {"types", "event type", a.Types, n.types}, {"versions", "version", a.Versions, n.versions}} {
			for _, name := range f.list {
				unknown("attributes["+a.ID+"]."+f.name, f.what, name, f.known)
			}
		}
	}
	for _, pl := range cfg.Plugins {
		if pl.Goal != nil && pl.Goal.Event != "" {
			unknown("plugins."+pl.Name+".goal.event", "event type", pl.Goal.Event, n.full)
		}
	}
	if len(warnings) > 0 && p.opts.StrictCatalog {
		return nil, &config.Error{Err: fmt.Errorf("%s (--strict-catalog refuses names the catalog does not know: register the event types first)", strings.Join(warnings, "; "))}
	}
	return warnings, nil
}

// nearMatches are the known names within a small edit distance of name,
// closest first, at most three.
func nearMatches(name string, known map[string]bool) []string {
	limit := max(2, min(3, len(name)/4)) // a transposed pair is 2
	type match struct {
		name string
		dist int
	}
	var out []match
	for k := range known {
		if d := editDistance(name, k); d <= limit {
			out = append(out, match{k, d})
		}
	}
	slices.SortFunc(out, func(a, b match) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return strings.Compare(a.name, b.name)
	})
	names := make([]string, 0, 3)
	for i := 0; i < len(out) && i < 3; i++ {
		names = append(names, out[i].name)
	}
	return names
}

// editDistance is the Levenshtein distance of two strings, in bytes (names
// of the catalog are ASCII in practice; a multibyte rune counts a little
// more, which only makes a match less likely).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
