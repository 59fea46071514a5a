package console

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// The identity graph of a profile, drawn as SVG on the server: the
// entity's events and identifiers, an edge where an event carries an
// identifier under the stitching rules (the links that joined the
// entity), and a dashed red edge where the guard rails refused the link
// (stitch_audit: a blocked value, max_per_entity). Every node and edge
// has a class a test counts: "node event", "node identifier", "edge",
// "edge refused".

// Bounds of the graph.
const (
	graphEvents      = 60  // event nodes at most
	graphIdentifiers = 100 // identifier nodes of the entity at most
	graphRefused     = 40  // refused values drawn at most
)

// graphInput is what the graph is built from, read by the profile page.
type graphInput struct {
	ID     string
	Rules  stitch.Config
	Links  []store.IdentifierLink // the entity's identifiers, at most graphIdentifiers
	Merges []store.Merge
	Newest []store.Event // the newest events, to fill up with
	// EventsCount and IdentifiersCount are the entity's totals.
	EventsCount, IdentifiersCount int64
}

// identKey is an identifier value of a category.
type identKey struct{ Category, Value string }

func (k identKey) String() string { return k.Category + ":" + k.Value }

// graph is the identity graph before layout.
type graph struct {
	Events      []store.Event
	Identifiers []graphIdent
	Edges       []graphEdge
	// MoreEvents and MoreIdentifiers say how many were left out.
	MoreEvents, MoreIdentifiers int64
}

type graphIdent struct {
	identKey
	// Refused is the guard rail that refused the value ("" for the
	// entity's own identifiers); Holder the entity holding it instead.
	Refused, Holder string
}

type graphEdge struct {
	Event int // index in Events
	Ident int // index in Identifiers
}

// buildGraph chooses the events (those that linked an identifier first,
// caused a merge or carried a refused value, then the newest) and
// evaluates the rules over them for the edges.
func buildGraph(ctx context.Context, db profileStore, in graphInput) (*graph, error) {
	refusedSeqs, err := db.ProfileRefusedSeqs(ctx, in.ID, graphEvents)
	if err != nil {
		return nil, err
	}
	var seqs []int64
	seen := map[int64]bool{}
	add := func(s int64) {
		if !seen[s] && len(seqs) < graphEvents {
			seen[s] = true
			seqs = append(seqs, s)
		}
	}
	for _, l := range in.Links {
		add(l.FirstSeq)
	}
	for _, m := range in.Merges {
		add(m.EventSeq)
	}
	for _, s := range refusedSeqs {
		add(s)
	}
	for _, e := range in.Newest {
		add(e.Seq)
	}
	g := &graph{}
	if g.Events, err = db.ProfileEventsAt(ctx, seqs); err != nil {
		return nil, err
	}
	carried, err := db.ProfileEventIdentifiers(ctx, in.Rules.IdentifiersSQL, seqs)
	if err != nil {
		return nil, err
	}
	if err := g.link(ctx, db, in, carried); err != nil {
		return nil, err
	}
	g.MoreEvents = max(0, in.EventsCount-int64(len(g.Events)))
	g.MoreIdentifiers = max(0, in.IdentifiersCount-int64(len(in.Links)))
	return g, nil
}

// link adds the identifier nodes and the edges: an identifier of the
// entity is linked; a value carried by its events that it does not hold
// was refused (or never linked), and the store says why.
func (g *graph) link(ctx context.Context, db profileStore, in graphInput, carried []store.EventIdentifier) error {
	ident := map[identKey]int{}
	for _, l := range in.Links {
		k := identKey{l.Category, l.Value}
		ident[k] = len(g.Identifiers)
		g.Identifiers = append(g.Identifiers, graphIdent{identKey: k})
	}
	var cats, vals []string
	asked := map[identKey]bool{}
	for _, c := range carried {
		k := identKey{c.Category, c.Value}
		if _, ok := ident[k]; !ok && !asked[k] && len(cats) < graphRefused+graphIdentifiers {
			asked[k] = true
			cats, vals = append(cats, c.Category), append(vals, c.Value)
		}
	}
	states, err := db.ProfileLinkStates(ctx, cats, vals)
	if err != nil {
		return err
	}
	refused := 0
	for _, s := range states {
		k := identKey{s.Category, s.Value}
		if _, ok := ident[k]; ok {
			continue
		}
		if s.EntityID == in.ID { // its own, beyond the identifiers drawn
			continue
		}
		if refused == graphRefused {
			continue
		}
		refused++
		reason := s.Refused
		if reason == "" {
			reason = "not linked"
		}
		ident[k] = len(g.Identifiers)
		g.Identifiers = append(g.Identifiers, graphIdent{identKey: k, Refused: reason, Holder: s.EntityID})
	}
	eventAt := map[string]int{}
	for i, e := range g.Events {
		eventAt[e.ID] = i
	}
	done := map[graphEdge]bool{}
	for _, c := range carried {
		i, ok := ident[identKey{c.Category, c.Value}]
		ev, evOK := eventAt[c.EventID]
		if ok && evOK && !done[graphEdge{ev, i}] {
			done[graphEdge{ev, i}] = true
			g.Edges = append(g.Edges, graphEdge{ev, i})
		}
	}
	return nil
}

// Layout in SVG units: the identifiers in a middle column, the events in
// a column either side, alternately. The SVG scales to its box.
const (
	graphW                   = 640.0
	identX0, identW, identH  = 195.0, 250.0, 22.0
	identGap, eventGap       = 30.0, 26.0
	eventLeftX, eventRightX  = 150.0, 490.0
	graphTop, graphBottomPad = 16.0, 16.0
	identLabelMax, eventMax  = 34, 16
)

// SVG draws the graph. title is its accessible name.
func (g *graph) SVG(title string) template.HTML {
	rows := math.Ceil(float64(len(g.Events)) / 2)
	h := math.Max(rows*eventGap, float64(len(g.Identifiers))*identGap) + graphTop + graphBottomPad
	identTop := graphTop + (h-graphTop-graphBottomPad-float64(len(g.Identifiers))*identGap)/2
	eventTop := graphTop + (h-graphTop-graphBottomPad-rows*eventGap)/2
	identY := func(i int) float64 { return identTop + float64(i)*identGap + identH/2 }
	eventXY := func(i int) (float64, float64) {
		x := eventLeftX
		if i%2 == 1 {
			x = eventRightX
		}
		return x, eventTop + float64(i/2)*eventGap + eventGap/2
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="graph" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		graphW, h, esc(title), esc(title))
	for _, e := range g.Edges {
		ev, id := g.Events[e.Event], g.Identifiers[e.Ident]
		x1, y1 := eventXY(e.Event)
		x2 := identX0
		if x1 > identX0 {
			x2 = identX0 + identW
		}
		class, why := "edge", "linked"
		if id.Refused != "" {
			class, why = "edge refused", "refused: "+id.Refused
		}
		fmt.Fprintf(&b, `<line class="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"><title>event %d carries %s (%s)</title></line>`,
			class, x1, y1, x2, identY(e.Ident), ev.Seq, esc(id.String()), esc(why))
	}
	for i, id := range g.Identifiers {
		class, tip := "node identifier", id.String()
		if id.Refused != "" {
			class = "node identifier refused"
			tip += " (refused: " + id.Refused
			if id.Holder != "" {
				tip += "; held by entity " + id.Holder
			}
			tip += ")"
		}
		y := identY(i) - identH/2
		fmt.Fprintf(&b, `<g class="%s"><title>%s</title><rect x="%.0f" y="%.1f" width="%.0f" height="%.0f" rx="4"/><text x="%.0f" y="%.1f" text-anchor="middle">%s</text></g>`,
			class, esc(tip), identX0, y, identW, identH, identX0+identW/2, y+15, esc(clip(id.String(), identLabelMax)))
	}
	for i, e := range g.Events {
		x, y := eventXY(i)
		anchor, tx := "end", x-11
		if i%2 == 1 {
			anchor, tx = "start", x+11
		}
		fmt.Fprintf(&b, `<g class="node event"><title>event %d: %s/%s at %s (%s)</title><circle cx="%.0f" cy="%.1f" r="7"/><text x="%.0f" y="%.1f" text-anchor="%s">%s</text></g>`,
			e.Seq, esc(e.SourceID), esc(e.Type), formatTime(e.EventTime), esc(e.ID), x, y, tx, y+4, anchor, esc(clip(e.Type, eventMax)))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// clip shortens s to n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
