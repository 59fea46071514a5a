package console

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// The charts are SVG drawn here, on the server: no chart library to
// vendor, nothing for the browser to compute, and a test can count the
// marks (every bar and point has class "mark").

// Series is one line of a chart, or one layer of stacked bars.
type Series struct {
	Name   string
	Values []float64
}

// palette colours the series in order; each is readable on white.
var palette = []string{"#1f5fbf", "#d9822b", "#2e8b57", "#a23b72", "#6b5b95", "#8c564b", "#17becf", "#7f7f7f"}

// Chart dimensions in SVG units; the SVG scales to its box.
const (
	chartW, chartH = 900.0, 260.0
	padL, padB     = 56.0, 28.0
	padT, padR     = 12.0, 12.0
)

// BarChart draws stacked bars: one bar per label, one layer per series.
// title is the chart's accessible name.
func BarChart(title string, labels []string, series []Series) template.HTML {
	totals := make([]float64, len(labels))
	for _, s := range series {
		for i, v := range s.Values {
			if i < len(totals) {
				totals[i] += v
			}
		}
	}
	top := niceMax(maxOf(totals))
	var b strings.Builder
	openChart(&b, title, top)
	slot := (chartW - padL - padR) / math.Max(1, float64(len(labels)))
	w := math.Max(1, slot*0.8)
	base := make([]float64, len(labels))
	for si, s := range series {
		colour := palette[si%len(palette)]
		for i, v := range s.Values {
			if i >= len(labels) || v <= 0 {
				continue
			}
			h := v / top * (chartH - padT - padB)
			y := chartH - padB - base[i] - h
			x := padL + float64(i)*slot + (slot-w)/2
			fmt.Fprintf(&b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				x, y, w, h, colour, esc(labels[i]), esc(s.Name), trimFloat(v))
			base[i] += h
		}
	}
	xLabels(&b, labels, slot)
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// LineChart draws one line per series over the labels, a point per value.
func LineChart(title string, labels []string, series []Series) template.HTML {
	var all []float64
	for _, s := range series {
		all = append(all, s.Values...)
	}
	top := niceMax(maxOf(all))
	var b strings.Builder
	openChart(&b, title, top)
	slot := (chartW - padL - padR) / math.Max(1, float64(len(labels)))
	for si, s := range series {
		colour := palette[si%len(palette)]
		var pts []string
		for i, v := range s.Values {
			x := padL + float64(i)*slot + slot/2
			y := chartH - padB - v/top*(chartH-padT-padB)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, colour, strings.Join(pts, " "))
		for i, v := range s.Values {
			if i >= len(labels) {
				break
			}
			x := padL + float64(i)*slot + slot/2
			y := chartH - padB - v/top*(chartH-padT-padB)
			fmt.Fprintf(&b, `<circle class="mark" cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %s</title></circle>`,
				x, y, colour, esc(labels[i]), esc(s.Name), trimFloat(v))
		}
	}
	xLabels(&b, labels, slot)
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// openChart writes the SVG element, its title and the y axis up to top.
func openChart(b *strings.Builder, title string, top float64) {
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		chartW, chartH, esc(title), esc(title))
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		y := chartH - padB - float64(i)/4*(chartH-padT-padB)
		fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#e3e7ec"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`,
			padL, chartW-padR, y, y, padL-6, y+4, esc(trimFloat(v)))
	}
}

// xLabels writes at most about 12 labels under the slots.
func xLabels(b *strings.Builder, labels []string, slot float64) {
	step := int(math.Ceil(float64(len(labels)) / 12))
	for i := 0; i < len(labels); i += max(1, step) {
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, padL+float64(i)*slot+slot/2, chartH-8, esc(labels[i]))
	}
}

// Legend returns the legend of the series, in the palette's colours.
func Legend(series []Series) template.HTML {
	var b strings.Builder
	b.WriteString(`<ul class="legend">`)
	for i, s := range series {
		fmt.Fprintf(&b, `<li><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="%s"/></svg> %s</li>`, palette[i%len(palette)], esc(s.Name))
	}
	b.WriteString("</ul>")
	return template.HTML(b.String())
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceMax(m float64) float64 {
	if m <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{1, 2, 5, 10} {
		if m <= f*p {
			return f * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func esc(s string) string { return template.HTMLEscapeString(s) }
