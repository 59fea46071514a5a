package segment

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// Operators of attribute and property conditions.
const (
	OpEq        = "="
	OpNe        = "!="
	OpLt        = "<"
	OpLe        = "<="
	OpGt        = ">"
	OpGe        = ">="
	OpIn        = "in"
	OpContains  = "contains"
	OpIsSet     = "is_set"
	OpIsNotSet  = "is_not_set"
	OpBetween   = "between"
	opsListed   = "=, !=, <, <=, >, >=, in, contains, is_set, is_not_set, between"
	countsOps   = "=, !=, <, <=, >, >=, between"
	maxTreeSize = 1000
)

var allOps = []string{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn, OpContains, OpIsSet, OpIsNotSet, OpBetween}

// Error names the segment and the path in its definition at fault:
// segments[vip].condition.all[2].attribute: unknown attribute "spend".
type Error struct {
	// Segment is the segment's id, or its index when the id is at fault.
	Segment string
	// Path is the field under the segment (condition.all[2].attribute).
	Path string
	Err  error
}

func (e *Error) Error() string {
	s := "segments[" + e.Segment + "]"
	if e.Path != "" {
		s += "." + e.Path
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Env is what conditions may name: the attributes (with their data types),
// the identifier categories of stitching, and the declared plugins.
type Env struct {
	attrs      map[string]*attr.Definition
	categories map[string]bool
	plugins    map[string]bool
}

// NewEnv is the environment of a weft.yaml's attributes, effective
// stitching rules and plugin names.
func NewEnv(attrs []attr.Definition, st stitch.Config, plugins []string) *Env {
	e := &Env{attrs: map[string]*attr.Definition{}, categories: map[string]bool{}, plugins: map[string]bool{}}
	for i := range attrs {
		if attrs[i].IsEnabled() {
			e.attrs[attrs[i].ID] = &attrs[i]
		}
	}
	for _, r := range st.Rules {
		e.categories[r.Identifier] = true
	}
	for _, p := range plugins {
		e.plugins[p] = true
	}
	return e
}

// Validate checks the segments of a weft.yaml without the database: ids,
// the shape of every condition, operators and values against the
// attributes' data types, identifier categories, references to other
// segments and their cycles. The first error found is returned, an *Error.
func Validate(defs []Definition, env *Env) error {
	byID := map[string]*Definition{}
	for i := range defs {
		d := &defs[i]
		if !idPattern.MatchString(d.ID) || len(d.ID) > 63 {
			return &Error{Segment: strconv.Itoa(i), Path: "id", Err: fmt.Errorf("%q must be lower case letters, digits and _, starting with a letter (^[a-z][a-z0-9_]*$, at most 63 characters)", d.ID)}
		}
		if byID[d.ID] != nil {
			return &Error{Segment: d.ID, Path: "id", Err: errors.New("defined twice")}
		}
		byID[d.ID] = d
	}
	for i := range defs {
		d := &defs[i]
		v := &validator{env: env, segments: byID}
		if err := v.node(&d.Condition, "condition"); err != nil {
			return &Error{Segment: d.ID, Path: v.path, Err: err}
		}
	}
	if cycle := findCycle(defs, byID); cycle != nil {
		return &Error{Segment: cycle[0], Path: "condition", Err: fmt.Errorf("segments refer to each other in a cycle: %s", strings.Join(cycle, " -> "))}
	}
	return nil
}

// ValidateCondition checks a condition tree that is not saved (a preview)
// against the segments of the config; the error's Segment is "preview".
func ValidateCondition(c *Condition, defs []Definition, env *Env) error {
	byID := map[string]*Definition{}
	for i := range defs {
		byID[defs[i].ID] = &defs[i]
	}
	v := &validator{env: env, segments: byID}
	if err := v.node(c, "condition"); err != nil {
		return &Error{Segment: "preview", Path: v.path, Err: err}
	}
	return nil
}

type validator struct {
	env      *Env
	segments map[string]*Definition
	path     string // of the error
	nodes    int
}

func (v *validator) fail(path string, format string, args ...any) error {
	v.path = path
	return fmt.Errorf(format, args...)
}

// kinds lists the kinds a node sets (all, any, not, attribute, ...).
func (c *Condition) kinds() []string {
	var k []string
	for _, x := range []struct {
		name string
		set  bool
	}{{"all", c.All != nil}, {"any", c.Any != nil}, {"not", c.Not != nil}, {"attribute", c.Attribute != ""},
		{"property", c.Property != ""}, {"event", c.Event != ""}, {"identifier", c.Identifier != ""}, {"segment", c.Segment != ""}} {
		if x.set {
			k = append(k, x.name)
		}
	}
	return k
}

// kind is the one kind of a valid node.
func (c *Condition) kind() string {
	if k := c.kinds(); len(k) == 1 {
		return k[0]
	}
	return ""
}

// extras names the fields set that a node of kind does not use.
func (c *Condition) extras(kind string) []string {
	uses := map[string][]string{
		"attribute": {"op", "value"}, "property": {"op", "value"},
		"event": {"last", "between", "where", "count", "sum"},
	}[kind]
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"op", c.Op != ""}, {"value", c.Value != nil}, {"last", c.Last != ""}, {"between", c.Between != nil},
		{"where", c.Where != ""}, {"count", c.Count != nil}, {"sum", c.Sum != nil}} {
		if f.set && !slices.Contains(uses, f.name) {
			out = append(out, f.name)
		}
	}
	return out
}

func (v *validator) node(c *Condition, path string) error {
	v.nodes++
	if v.nodes > maxTreeSize {
		return v.fail(path, "the condition tree has more than %d nodes", maxTreeSize)
	}
	kinds := c.kinds()
	switch len(kinds) {
	case 0:
		return v.fail(path, "a condition needs one of all, any, not, attribute, property, event, identifier, segment")
	case 1:
	default:
		return v.fail(path, "a condition has exactly one of all, any, not, attribute, property, event, identifier, segment; this one has %s", strings.Join(kinds, " and "))
	}
	kind := kinds[0]
	if extra := c.extras(kind); len(extra) > 0 {
		return v.fail(path+"."+extra[0], "not used by a condition of kind %s", kind)
	}
	switch kind {
	case "all", "any":
		list := c.All
		if kind == "any" {
			list = c.Any
		}
		if len(list) == 0 {
			return v.fail(path+"."+kind, "needs at least one condition")
		}
		for i := range list {
			if err := v.node(&list[i], fmt.Sprintf("%s.%s[%d]", path, kind, i)); err != nil {
				return err
			}
		}
		return nil
	case "not":
		return v.node(c.Not, path+".not")
	case "attribute":
		d := v.env.attrs[c.Attribute]
		if d == nil {
			return v.fail(path+".attribute", "unknown attribute %q", c.Attribute)
		}
		return v.comparison(c, path, valueType{dataType: d.ResultType(), list: d.Type == attr.TypeList})
	case "property":
		return v.property(c, path)
	case "event":
		return v.event(c, path)
	case "identifier":
		if !v.env.categories[c.Identifier] {
			return v.fail(path+".identifier", "unknown identifier category %q (stitching reads %s)", c.Identifier, strings.Join(sortedKeys(v.env.categories), ", "))
		}
		return nil
	case "segment":
		if v.segments[c.Segment] == nil {
			return v.fail(path+".segment", "unknown segment %q", c.Segment)
		}
		return nil
	}
	return nil
}

// valueType is what a condition compares: a data type of package attr
// (DataString, ...), and whether the attribute holds a list.
type valueType struct {
	dataType string
	list     bool
}

// opsFor are the operators a type allows.
func opsFor(t valueType) []string {
	switch t.dataType {
	case attr.DataInt, attr.DataFloat, attr.DataDate, attr.DataDatetime:
		ops := []string{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn, OpBetween, OpIsSet, OpIsNotSet}
		if t.list {
			ops = append(ops, OpContains)
		}
		return ops
	case attr.DataBool:
		return []string{OpEq, OpNe, OpIsSet, OpIsNotSet}
	}
	return []string{OpEq, OpNe, OpIn, OpContains, OpIsSet, OpIsNotSet}
}

// comparison checks op and value of an attribute or property condition.
func (v *validator) comparison(c *Condition, path string, t valueType) error {
	if c.Op == "" {
		return v.fail(path+".op", "is required: one of %s", strings.Join(opsFor(t), ", "))
	}
	if !slices.Contains(allOps, c.Op) {
		return v.fail(path+".op", "%q is not an operator (%s)", c.Op, opsListed)
	}
	if !slices.Contains(opsFor(t), c.Op) {
		what := t.dataType
		if t.list {
			what = "list of " + what
		}
		return v.fail(path+".op", "%s does not apply to %s values (use %s)", c.Op, what, strings.Join(opsFor(t), ", "))
	}
	switch c.Op {
	case OpIsSet, OpIsNotSet:
		if c.Value != nil {
			return v.fail(path+".value", "%s takes no value", c.Op)
		}
		return nil
	case OpIn, OpBetween:
		list, ok := c.Value.([]any)
		switch {
		case !ok:
			return v.fail(path+".value", "%s needs a list of values", c.Op)
		case c.Op == OpBetween && len(list) != 2:
			return v.fail(path+".value", "between needs two values, [low, high]; got %d", len(list))
		case len(list) == 0:
			return v.fail(path+".value", "in needs at least one value")
		}
		for i, x := range list {
			if _, err := literal(x, t.dataType); err != nil {
				return v.fail(fmt.Sprintf("%s.value[%d]", path, i), "%v", err)
			}
		}
		return nil
	}
	if c.Value == nil {
		return v.fail(path+".value", "is required by %s", c.Op)
	}
	if _, err := literal(c.Value, t.dataType); err != nil {
		return v.fail(path+".value", "%v", err)
	}
	return nil
}

// propertyRef is <plugin>/<name> or <plugin>/<run-timestamp>/<name>.
var propertyRef = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,47}(/[0-9]{8}T[0-9]{6}Z)?/[^/\x00-\x1f\x7f]+$`)

// property checks a property condition; the property's type comes from
// the value (a number, a boolean or text) and is checked against the
// published property when the segment is computed.
func (v *validator) property(c *Condition, path string) error {
	if !propertyRef.MatchString(c.Property) {
		return v.fail(path+".property", "%q is not a property reference (<plugin>/<name> or <plugin>/<run-timestamp>/<name>)", c.Property)
	}
	t := valueType{dataType: propertyTypeOf(c.Value)}
	return v.comparison(c, path, t)
}

// propertyTypeOf is the data type a property condition's value implies.
func propertyTypeOf(value any) string {
	x := value
	if list, ok := value.([]any); ok && len(list) > 0 {
		x = list[0]
	}
	switch x.(type) {
	case bool:
		return attr.DataBool
	case string:
		return attr.DataString
	}
	return attr.DataFloat
}

func (v *validator) event(c *Condition, path string) error {
	if _, err := parseEventRef(c.Event); err != nil {
		return v.fail(path+".event", "%v", err)
	}
	switch {
	case c.Last != "" && c.Between != nil:
		return v.fail(path+".between", "an event condition has last or between, not both")
	case c.Last == "" && c.Between == nil:
		return v.fail(path+".last", "an event condition needs a window: last (30d, 12h, 8w) or between [from, to]")
	case c.Last != "":
		if _, err := parseDuration(c.Last); err != nil {
			return v.fail(path+".last", "%v", err)
		}
	default:
		if len(c.Between) != 2 {
			return v.fail(path+".between", "needs two dates, [from, to]; got %d", len(c.Between))
		}
		for i, s := range c.Between {
			if _, err := parseMoment(s); err != nil {
				return v.fail(fmt.Sprintf("%s.between[%d]", path, i), "%v", err)
			}
		}
	}
	if c.Where != "" {
		if err := store.CheckConfigSQL(c.Where); err != nil {
			return v.fail(path+".where", "%v", err)
		}
	}
	switch {
	case c.Count != nil && c.Sum != nil:
		return v.fail(path+".sum", "an event condition has count or sum, not both")
	case c.Count == nil && c.Sum == nil:
		return v.fail(path+".count", "an event condition needs count: {op, value} or sum: {field, op, value}")
	case c.Count != nil:
		return v.counts(c.Count.comparison(), path+".count", attr.DataInt)
	}
	if strings.TrimSpace(c.Sum.Field) == "" {
		return v.fail(path+".sum.field", "is required: SQL over the event, such as (payload->>'total')::numeric")
	}
	if err := store.CheckConfigSQL(c.Sum.Field); err != nil {
		return v.fail(path+".sum.field", "%v", err)
	}
	return v.counts(c.Sum, path+".sum", attr.DataFloat)
}

func (v *validator) counts(cmp *Comparison, path, dataType string) error {
	ops := strings.Split(countsOps, ", ")
	if !slices.Contains(ops, cmp.Op) {
		return v.fail(path+".op", "%q is not one of %s", cmp.Op, countsOps)
	}
	if cmp.Op == OpBetween {
		list, ok := cmp.Value.([]any)
		if !ok || len(list) != 2 {
			return v.fail(path+".value", "between needs two numbers, [low, high]")
		}
		for i, x := range list {
			if _, err := literal(x, dataType); err != nil {
				return v.fail(fmt.Sprintf("%s.value[%d]", path, i), "%v", err)
			}
		}
		return nil
	}
	if cmp.Value == nil {
		return v.fail(path+".value", "is required")
	}
	if _, err := literal(cmp.Value, dataType); err != nil {
		return v.fail(path+".value", "%v", err)
	}
	return nil
}

// eventRef is a parsed source/type[/version].
type eventRef struct{ source, typ, version string }

func parseEventRef(s string) (eventRef, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return eventRef{}, fmt.Errorf("%q must be source/type or source/type/version", s)
	}
	for i, p := range parts {
		// A type may hold inner spaces (the event names of tracking
		// SDKs: "Order Completed"); a source or a version may not.
		bad := "'\"\\ "
		if i == 1 {
			bad = "'\"\\"
		}
		if p == "" || p == "*" || strings.ContainsAny(p, bad) || strings.TrimSpace(p) != p {
			return eventRef{}, fmt.Errorf("%q has an empty or invalid part", s)
		}
	}
	r := eventRef{source: parts[0], typ: parts[1]}
	if len(parts) == 3 {
		r.version = parts[2]
	}
	return r, nil
}

// findCycle returns a cycle of segment references (first id repeated at
// the end), or nil.
func findCycle(defs []Definition, byID map[string]*Definition) []string {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(id string) []string
	visit = func(id string) []string {
		switch state[id] {
		case open:
			i := slices.Index(stack, id)
			return append(slices.Clone(stack[i:]), id)
		case done:
			return nil
		}
		state[id] = open
		stack = append(stack, id)
		for _, ref := range refs(&byID[id].Condition) {
			if byID[ref] == nil {
				continue
			}
			if c := visit(ref); c != nil {
				return c
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = done
		return nil
	}
	for _, d := range defs {
		if c := visit(d.ID); c != nil {
			return c
		}
	}
	return nil
}

// refs lists the segments a condition refers to, in order.
func refs(c *Condition) []string {
	var out []string
	c.walk(func(n *Condition) {
		if n.Segment != "" {
			out = append(out, n.Segment)
		}
	})
	return out
}

// walk calls fn on every node of the tree, parents first.
func (c *Condition) walk(fn func(*Condition)) {
	fn(c)
	for i := range c.All {
		c.All[i].walk(fn)
	}
	for i := range c.Any {
		c.Any[i].walk(fn)
	}
	if c.Not != nil {
		c.Not.walk(fn)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
