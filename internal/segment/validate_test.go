package segment_test

import (
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
)

// head is a weft.yaml before its segments.
const head = `
stitching:
  rules:
    - {identifier: email, event: shop/signup, value_expression: "payload->>'email'"}
attributes:
  - {id: orders, type: sum, data_type: int, types: [purchase], value: "(payload->>'n')::int"}
  - {id: spend, type: sum, types: [purchase], value: "(payload->>'total')::numeric"}
  - {id: plan, type: last, value: "payload->>'plan'"}
  - {id: vip, type: last, data_type: bool, value: "payload->>'vip'"}
  - {id: born, type: first, data_type: date, value: "payload->>'born'"}
  - {id: tags, type: list, value: "payload->>'tag'"}
segments:
`

// TestValidateErrors: each bad definition is refused with the segment and
// the path in its tree named.
func TestValidateErrors(t *testing.T) {
	cases := []struct {
		name, segments, want string
	}{
		{"bad id", `- {id: Vip, condition: {identifier: email}}`, `segments[0].id: "Vip" must be lower case`},
		{"twice", "- {id: vip, condition: {identifier: email}}\n- {id: vip, condition: {identifier: email}}", `segments[vip].id: defined twice`},
		{"unknown attribute", `- {id: vip, condition: {all: [{identifier: email}, {identifier: email}, {attribute: spend2, op: ">", value: 1}]}}`,
			`segments[vip].condition.all[2].attribute: unknown attribute "spend2"`},
		{"no kind", `- {id: vip, condition: {}}`, `segments[vip].condition: a condition needs one of`},
		{"two kinds", `- {id: vip, condition: {attribute: orders, identifier: email, op: is_set}}`,
			`segments[vip].condition: a condition has exactly one of all, any, not, attribute, property, event, identifier, segment; this one has attribute and identifier`},
		{"empty all", `- {id: vip, condition: {all: []}}`, `segments[vip].condition.all: needs at least one condition`},
		{"stray field", `- {id: vip, condition: {identifier: email, op: "="}}`, `segments[vip].condition.op: not used by a condition of kind identifier`},
		{"unknown op", `- {id: vip, condition: {attribute: orders, op: "=="}}`, `segments[vip].condition.op: "==" is not an operator`},
		{"op for type", `- {id: vip, condition: {attribute: plan, op: ">", value: a}}`, `segments[vip].condition.op: > does not apply to string values`},
		{"bool between", `- {id: vip, condition: {attribute: vip, op: between, value: [true, false]}}`, `segments[vip].condition.op: between does not apply to bool values`},
		{"contains on number", `- {id: vip, condition: {attribute: orders, op: contains, value: 1}}`, `segments[vip].condition.op: contains does not apply to int values`},
		{"wrong type int", `- {id: vip, condition: {not: {attribute: orders, op: ">", value: "5"}}}`, `segments[vip].condition.not.value: "5" is a string; want an integer`},
		{"float for int", `- {id: vip, condition: {attribute: orders, op: "=", value: 2.5}}`, `segments[vip].condition.value: 2.5 is not an integer`},
		{"wrong type float", `- {id: vip, condition: {attribute: spend, op: ">", value: true}}`, `segments[vip].condition.value: true is a boolean; want a number`},
		{"wrong type string", `- {id: vip, condition: {attribute: plan, op: "=", value: 5}}`, `segments[vip].condition.value: 5 is a number; want a string`},
		{"wrong type bool", `- {id: vip, condition: {attribute: vip, op: "=", value: "yes"}}`, `segments[vip].condition.value: "yes" is a string; want true or false`},
		{"bad date", `- {id: vip, condition: {attribute: born, op: "<", value: "-30x"}}`, `segments[vip].condition.value: "-30x" is not a relative date`},
		{"bad absolute date", `- {id: vip, condition: {attribute: born, op: "<", value: "31/01/2026"}}`, `segments[vip].condition.value: "31/01/2026" is not a date`},
		{"in not a list", `- {id: vip, condition: {attribute: plan, op: in, value: a}}`, `segments[vip].condition.value: in needs a list of values`},
		{"in wrong element", `- {id: vip, condition: {attribute: orders, op: in, value: [1, x]}}`, `segments[vip].condition.value[1]: "x" is a string; want an integer`},
		{"between three", `- {id: vip, condition: {attribute: orders, op: between, value: [1, 2, 3]}}`, `segments[vip].condition.value: between needs two values`},
		{"is_set value", `- {id: vip, condition: {attribute: orders, op: is_set, value: 1}}`, `segments[vip].condition.value: is_set takes no value`},
		{"missing value", `- {id: vip, condition: {attribute: orders, op: ">"}}`, `segments[vip].condition.value: is required by >`},
		{"missing op", `- {id: vip, condition: {attribute: orders}}`, `segments[vip].condition.op: is required`},
		{"bad property", `- {id: vip, condition: {property: "Bad Ref", op: ">", value: 1}}`, `segments[vip].condition.property: "Bad Ref" is not a property reference`},
		{"bad event", `- {id: vip, condition: {event: shop, last: 30d, count: {op: ">", value: 1}}}`, `segments[vip].condition.event: "shop" must be source/type`},
		{"space in a source", `- {id: vip, condition: {event: "my site/page", last: 3d, count: {op: ">", value: 1}}}`, `has an empty or invalid part`},
		{"space around a type", `- {id: vip, condition: {event: "site/ page", last: 3d, count: {op: ">", value: 1}}}`, `has an empty or invalid part`},
		{"no window", `- {id: vip, condition: {event: shop/purchase, count: {op: ">", value: 1}}}`, `segments[vip].condition.last: an event condition needs a window`},
		{"two windows", `- {id: vip, condition: {event: shop/purchase, last: 3d, between: [-3d, -1d], count: {op: ">", value: 1}}}`, `segments[vip].condition.between: an event condition has last or between, not both`},
		{"bad last", `- {id: vip, condition: {event: shop/purchase, last: 3m, count: {op: ">", value: 1}}}`, `segments[vip].condition.last: "3m" is not a duration`},
		{"bad between", `- {id: vip, condition: {event: shop/purchase, between: [-3d, soon], count: {op: ">", value: 1}}}`, `segments[vip].condition.between[1]: "soon" is not a date`},
		{"no count", `- {id: vip, condition: {event: shop/purchase, last: 3d}}`, `segments[vip].condition.count: an event condition needs count`},
		{"count and sum", `- {id: vip, condition: {event: shop/purchase, last: 3d, count: {op: ">", value: 1}, sum: {field: x, op: ">", value: 1}}}`, `segments[vip].condition.sum: an event condition has count or sum, not both`},
		{"count op", `- {id: vip, condition: {event: shop/purchase, last: 3d, count: {op: in, value: 1}}}`, `segments[vip].condition.count.op: "in" is not one of`},
		{"count float", `- {id: vip, condition: {event: shop/purchase, last: 3d, count: {op: ">", value: 1.5}}}`, `segments[vip].condition.count.value: 1.5 is not an integer`},
		{"sum without field", `- {id: vip, condition: {event: shop/purchase, last: 3d, sum: {op: ">", value: 1}}}`, `segments[vip].condition.sum.field: is required`},
		{"where writes", `- {id: vip, condition: {event: shop/purchase, last: 3d, where: "1=1; DELETE FROM entities", count: {op: ">", value: 1}}}`,
			`segments[vip].condition.where: SQL in the config reads customer data only (it would start a second statement): ';' is not allowed`},
		{"field reads files", `- {id: vip, condition: {event: shop/purchase, last: 3d, sum: {field: "length(read_text('/etc/passwd'))", op: ">", value: 1}}}`,
			`segments[vip].condition.sum.field: SQL in the config reads customer data only (it would read the server's files or environment): read_text() is not allowed`},
		{"unknown identifier", `- {id: vip, condition: {identifier: phone}}`, `segments[vip].condition.identifier: unknown identifier category "phone"`},
		{"unknown segment", `- {id: vip, condition: {any: [{identifier: email}, {segment: nope}]}}`, `segments[vip].condition.any[1].segment: unknown segment "nope"`},
		{"cycle", "- {id: a, condition: {segment: b}}\n- {id: b, condition: {all: [{identifier: email}, {not: {segment: c}}]}}\n- {id: c, condition: {segment: a}}",
			`segments[a].condition: segments refer to each other in a cycle: a -> b -> c -> a`},
		{"self", `- {id: a, condition: {not: {segment: a}}}`, `segments[a].condition: segments refer to each other in a cycle: a -> a`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Parse([]byte(head + indent(c.segments)))
			if err == nil {
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\nwant %q", err, c.want)
			}
		})
	}
}

// TestValidateGood accepts every operator with values of the right type,
// relative and absolute dates, and references in any order.
func TestValidateGood(t *testing.T) {
	segs := `- {id: a, condition: {all: [{segment: b}, {attribute: orders, op: in, value: [1, 2]}, {attribute: spend, op: between, value: [1, 2.5]},
    {attribute: born, op: ">=", value: "-30d"}, {attribute: born, op: "<", value: "2026-01-31"}, {attribute: tags, op: contains, value: x},
    {attribute: plan, op: contains, value: pro}, {attribute: vip, op: "!=", value: false}, {attribute: plan, op: is_not_set},
    {event: shop/purchase/1, between: ["2026-01-01", "-12h"], where: "payload->>'c' = 'app'", sum: {field: "(payload->>'t')::numeric", op: between, value: [1, 9.5]}},
    {event: shop/purchase, last: 8w, count: {op: "!=", value: 0}}, {event: "site/Order Completed", last: 8w, count: {op: ">", value: 0}}, {property: p/x, op: ">", value: 0.5}, {property: p/20260101T000000Z/x, op: "=", value: text}]}}
- {id: b, condition: {any: [{identifier: email}, {not: {attribute: orders, op: is_set}}]}}`
	if _, err := config.Parse([]byte(head + indent(segs))); err != nil {
		t.Fatal(err)
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}
