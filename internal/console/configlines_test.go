package console

import (
	"errors"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
)

const linesDoc = `stitching:
  rules:
    - {identifier: email, event: web/signup, value_expression: "x"}
    - identifier: phone
      event: web/signup
      value_expression: "y"
objects:
  - name: stores
    fields:
      - {name: id, type: string, primary: true}
      - {name: city, type: strin}
plugins:
  - name: scorer
    schedule: nope
jobs:
  nightly:
    cron: "0 0"
`

func TestLocate(t *testing.T) {
	cases := []struct {
		name, doc, msg string
		line           int
	}{
		{"list entry by index", linesDoc, "stitching.rules[1] (phone from web/signup): bad expression", 4},
		{"field under an index", linesDoc, "objects[0].fields[1] (city): unknown type strin", 11},
		{"list entry by name", linesDoc, "plugins.scorer.schedule: not a cron", 14},
		{"list entry by name in brackets", linesDoc, "plugins[scorer].schedule: not a cron", 14},
		{"mapping entry", linesDoc, "jobs.nightly.cron: too short", 17},
		{"deepest found", linesDoc, "jobs.nightly.parameters: bad", 16},
		{"nothing found", linesDoc, "segments[vip].condition: bad", 0},
		{"no path", linesDoc, "the document is empty", 0},
		{"a rule derived beyond the written ones", linesDoc, "stitching.rules[5] (x from y): bad", 2},
	}
	for _, c := range cases {
		got := locate([]byte(c.doc), c.msg)
		if len(got) != 1 || got[0].Line != c.line || got[0].Message != c.msg {
			t.Errorf("%s: %+v, want line %d", c.name, got, c.line)
		}
	}
}

// The parser's lines are right whatever part of the YAML library found
// the problem (its parser counts lines from 0, its scanner from 1), and
// every line of a decoding error is kept.
func TestLocateParseErrors(t *testing.T) {
	cases := []struct {
		name, doc string
		lines     []int
	}{
		{"scanner", "stitching:\n  rules: []\nattributes:\n  - id: a\n    type: sum: x\n", []int{5}},
		{"parser", "stitching:\n  rules: []\nattributes:\n  - id: a\n    sources: [web\n", []int{5}},
		{"unknown fields", "stitching:\n  rules: []\n  rulez: []\nattributes:\n  - id: a\n    colour: red\n", []int{3, 6}},
	}
	for _, c := range cases {
		_, err := config.Parse([]byte(c.doc))
		var cfgErr *config.Error
		if !errors.As(err, &cfgErr) {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := locate([]byte(c.doc), err.Error())
		var lines []int
		for _, p := range got {
			lines = append(lines, p.Line)
			if !strings.HasPrefix(p.Message, "not a valid weft.yaml: ") || strings.Contains(p.Message, "line ") {
				t.Errorf("%s: message %q", c.name, p.Message)
			}
		}
		if len(lines) != len(c.lines) || !equalInts(lines, c.lines) {
			t.Errorf("%s: lines %v, want %v (%v)", c.name, lines, c.lines, err)
		}
	}
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestDiffLines(t *testing.T) {
	old := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	cur := "a\nb\nC\nd\ne\nf\ng\nh\ni\nj\nk\n"
	if got, want := drawDiff(old, cur), " a, b,-c,+C, d, e, f, g, h, i, j,+k"; got != want {
		t.Errorf("diff:\n%s\nwant\n%s", got, want)
	}
	old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
	if got, want := drawDiff(old, strings.Replace(old, "5\n", "five\n", 1)), " 1, 2, 3, 4,-5,+five, 6, 7, 8,….."; got != want {
		t.Errorf("diff:\n%s\nwant\n%s", got, want)
	}
	if d := diffLines("", "x\n"); len(d) != 1 || d[0].Op != '+' || d[0].New != 1 {
		t.Errorf("diff from nothing: %+v", d)
	}
	// Beyond the table's bound the middle is removed then added, still a
	// right diff.
	var a, b strings.Builder
	for i := 0; i < 1100; i++ {
		a.WriteString("a" + strings.Repeat("x", i%7) + "\n")
		b.WriteString("b" + strings.Repeat("x", i%5) + "\n")
	}
	big := diffLines(a.String(), b.String())
	if len(big) != 2200 || big[0].Op != '-' || big[2199].Op != '+' {
		t.Errorf("big diff: %d lines", len(big))
	}
}

// drawDiff writes the hunks of a diff on one line: a gap of n lines as …
// and n dots.
func drawDiff(a, b string) string {
	var got []string
	for _, l := range hunks(diffLines(a, b)) {
		if l.Gap > 0 {
			got = append(got, "…"+strings.Repeat(".", l.Gap))
			continue
		}
		got = append(got, l.Sign()+l.Text)
	}
	return strings.Join(got, ",")
}
