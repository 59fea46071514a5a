package console

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// problem is an error or warning about a weft.yaml, at the line of the
// document it concerns (0 when none was found; the message says where).
type problem struct {
	Line    int
	Message string
}

// lineRef is how the YAML parser names a line ("line 7: field x not
// found"); a decoding error may name several.
var lineRef = regexp.MustCompile(`\bline (\d+): `)

// zeroBased are the problems of the YAML library's parser (not its
// scanner): it names their line counting from 0 (parser.fail in
// go.yaml.in/yaml/v3's decode.go), so the line is the one after.
var zeroBased = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected key", "did not find expected node content",
	"found duplicate %TAG directive", "found duplicate %YAML directive",
	"found incompatible YAML document", "found undefined tag handle",
}

// fieldPath is the place a validation error starts with:
// segments[vip].condition.all[2].attribute, stitching.rules[0] (email from
// web/signup), objects[0].fields[1] (name).
var fieldPath = regexp.MustCompile(`^([A-Za-z_][\w-]*(?:\[[^\]\n]*\]|\.[\w-]+)*)(?: \([^)\n]*\))?: `)

// pathStep splits a field path into its steps: names and [keys].
var pathStep = regexp.MustCompile(`[\w-]+|\[[^\]]*\]`)

// locate turns the message of an error (or warning) about doc into
// problems at their lines: the lines the parser names, else the line of
// the node the message's field path names.
func locate(doc []byte, msg string) []problem {
	if refs := lineRef.FindAllStringSubmatchIndex(msg, -1); refs != nil {
		return parserProblems(msg, refs)
	}
	m := fieldPath.FindStringSubmatch(msg)
	if m == nil {
		return []problem{{Message: msg}}
	}
	return []problem{{Line: pathLine(doc, m[1]), Message: msg}}
}

// parserProblems splits a parser's message at each "line N: ", keeping
// what comes before the first ("not a valid weft.yaml: ") on each.
func parserProblems(msg string, refs [][]int) []problem {
	lead := strings.TrimSpace(msg[:refs[0][0]])
	lead = strings.TrimSpace(strings.TrimSuffix(lead, "unmarshal errors:"))
	if lead != "" && !strings.HasSuffix(lead, ":") {
		lead += ":"
	}
	out := make([]problem, 0, len(refs))
	for i, r := range refs {
		end := len(msg)
		if i+1 < len(refs) {
			end = refs[i+1][0]
		}
		line, _ := strconv.Atoi(msg[r[2]:r[3]])
		text := strings.TrimSpace(msg[r[1]:end])
		if slices.Contains(zeroBased, text) {
			line++
		}
		if lead != "" {
			text = lead + " " + text
		}
		out = append(out, problem{Line: line, Message: text})
	}
	return out
}

// pathLine is the line of the node a field path names in doc, or of the
// deepest node on the way that exists (the segment when its condition
// has no such branch); 0 when not even the first step is found.
func pathLine(doc []byte, path string) int {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil || len(root.Content) == 0 {
		return 0
	}
	n, line := root.Content[0], 0
	for _, step := range pathStep.FindAllString(path, -1) {
		key, at := child(n, strings.Trim(step, "[]"))
		if at == nil {
			break
		}
		n, line = at, key
	}
	return line
}

// child is the node under n that a step names: a mapping's value (with
// the line of its key), a list's entry by index or by its id or name.
func child(n *yaml.Node, step string) (int, *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == step {
				return n.Content[i].Line, n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(step); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i].Line, n.Content[i]
		}
		for _, e := range n.Content {
			for _, k := range []string{"id", "name"} {
				if _, v := child(e, k); v != nil && v.Kind == yaml.ScalarNode && v.Value == step {
					return e.Line, e
				}
			}
		}
	}
	return 0, nil
}
