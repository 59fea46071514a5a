package console

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/weftdata/weft/internal/segment"
)

// condNode is a node of a condition tree written out for people: a
// sentence, and the conditions under a group.
type condNode struct {
	Text string
	// Segment is the segment a {segment: id} leaf refers to (a link).
	Segment  string
	Children []condNode
}

// describe writes a condition tree out as nested sentences.
func describe(c *segment.Condition) condNode {
	switch {
	case len(c.All) > 0:
		return group("all of:", c.All)
	case len(c.Any) > 0:
		return group("any of:", c.Any)
	case c.Not != nil:
		return condNode{Text: "not:", Children: []condNode{describe(c.Not)}}
	case c.Attribute != "":
		return condNode{Text: comparison("attribute "+c.Attribute, c.Op, c.Value)}
	case c.Property != "":
		return condNode{Text: comparison("plugin property "+c.Property, c.Op, c.Value)}
	case c.Event != "":
		return condNode{Text: eventText(c)}
	case c.Identifier != "":
		return condNode{Text: "has an identifier of category " + c.Identifier}
	case c.Segment != "":
		return condNode{Text: "member of segment", Segment: c.Segment}
	}
	return condNode{Text: "(empty condition)"}
}

func group(text string, cs []segment.Condition) condNode {
	n := condNode{Text: text}
	for i := range cs {
		n.Children = append(n.Children, describe(&cs[i]))
	}
	return n
}

// comparison is "what op value", the value as JSON (strings quoted, lists
// in brackets); is_set and is_not_set take none.
func comparison(what, op string, v any) string {
	if v == nil {
		return what + " " + op
	}
	return what + " " + op + " " + jsonText(v)
}

func eventText(c *segment.Condition) string {
	var b strings.Builder
	b.WriteString("events " + c.Event)
	if c.Last != "" {
		b.WriteString(" in the last " + c.Last)
	}
	if len(c.Between) == 2 {
		fmt.Fprintf(&b, " between %s and %s", c.Between[0], c.Between[1])
	}
	if c.Where != "" {
		b.WriteString(" where " + c.Where)
	}
	switch {
	case c.Count != nil:
		b.WriteString(": " + comparison("count", c.Count.Op, c.Count.Value))
	case c.Sum != nil:
		b.WriteString(": " + comparison("sum of "+c.Sum.Field, c.Sum.Op, c.Sum.Value))
	}
	return b.String()
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
