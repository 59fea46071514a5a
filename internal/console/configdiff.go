package console

import "strings"

// diffLine is one line of a line diff: kept, added or removed, with its
// numbers in the old and the new document (0 where it has none); or, with
// Gap, a run of Gap kept lines left out.
type diffLine struct {
	Op       byte // ' ', '+' or '-'
	Old, New int
	Text     string
	Gap      int
}

// Class and Sign draw a line: a class for the colour and the +/- text,
// so a change reads without colour too.
func (d diffLine) Class() string {
	switch d.Op {
	case '+':
		return "added"
	case '-':
		return "removed"
	}
	return "kept"
}

func (d diffLine) Sign() string { return string(d.Op) }

// diffCellsMax bounds the LCS table (changed lines of the old document
// times changed lines of the new, after the common head and tail): 1M
// int32 cells, 4 MB. Beyond it the diff shows the middle as removed then
// added, still right, only not minimal.
const diffCellsMax = 1 << 20

// diffLines is the line diff of a and b: the common head and tail, and a
// longest common subsequence of the lines between.
func diffLines(a, b string) []diffLine {
	x, y := splitLines(a), splitLines(b)
	head := 0
	for head < len(x) && head < len(y) && x[head] == y[head] {
		head++
	}
	tail := 0
	for tail < len(x)-head && tail < len(y)-head && x[len(x)-1-tail] == y[len(y)-1-tail] {
		tail++
	}
	var out []diffLine
	for i := 0; i < head; i++ {
		out = append(out, diffLine{Op: ' ', Old: i + 1, New: i + 1, Text: x[i]})
	}
	out = append(out, diffMiddle(x[head:len(x)-tail], y[head:len(y)-tail], head)...)
	for i := tail; i > 0; i-- {
		out = append(out, diffLine{Op: ' ', Old: len(x) - i + 1, New: len(y) - i + 1, Text: x[len(x)-i]})
	}
	return out
}

// diffMiddle diffs the changed middles by LCS; off is the lines before.
func diffMiddle(x, y []string, off int) []diffLine {
	n, m := len(x), len(y)
	var out []diffLine
	if n*m > diffCellsMax {
		for i, s := range x {
			out = append(out, diffLine{Op: '-', Old: off + i + 1, Text: s})
		}
		for j, s := range y {
			out = append(out, diffLine{Op: '+', New: off + j + 1, Text: s})
		}
		return out
	}
	// lcs[i*(m+1)+j] is the LCS length of x[i:] and y[j:].
	lcs := make([]int32, (n+1)*(m+1))
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i*(m+1)+j] = lcs[(i+1)*(m+1)+j+1] + 1
			} else {
				lcs[i*(m+1)+j] = max(lcs[(i+1)*(m+1)+j], lcs[i*(m+1)+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			out = append(out, diffLine{Op: ' ', Old: off + i + 1, New: off + j + 1, Text: x[i]})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[(i+1)*(m+1)+j] >= lcs[i*(m+1)+j+1]):
			out = append(out, diffLine{Op: '-', Old: off + i + 1, Text: x[i]})
			i++
		default:
			out = append(out, diffLine{Op: '+', New: off + j + 1, Text: y[j]})
			j++
		}
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffContext is how many kept lines a hunk shows around a change.
const diffContext = 3

// hunks keeps the changed lines with diffContext kept lines around them;
// each longer run of kept lines becomes a gap (a run of one stays: a gap
// would take its room).
func hunks(lines []diffLine) []diffLine {
	near := make([]bool, len(lines))
	for i, l := range lines {
		if l.Op == ' ' {
			continue
		}
		for k := max(0, i-diffContext); k <= min(len(lines)-1, i+diffContext); k++ {
			near[k] = true
		}
	}
	var out []diffLine
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && !near[j] {
			j++
		}
		switch {
		case j-i > 1:
			out = append(out, diffLine{Gap: j - i})
		case j-i == 1:
			out = append(out, lines[i])
		}
		if j < len(lines) {
			out = append(out, lines[j])
		}
		i = j + 1
	}
	return out
}
