package console

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/weftdata/weft/internal/identitygraph"
)

// The identity graph of a profile (identitygraph.Sample), drawn as SVG on
// the server: the entity's events and identifiers, an edge where an event
// carries an identifier under the stitching rules (the links that joined
// the entity), and a dashed red edge where the guard rails refused the
// link (stitch_audit: a blocked value, max_per_entity). Every node and
// edge has a class a test counts: "node event", "node identifier",
// "edge", "edge refused".

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

// graphSVG draws the graph. title is its accessible name.
func graphSVG(g *identitygraph.Sample, title string) template.HTML {
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
