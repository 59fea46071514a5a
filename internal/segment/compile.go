package segment

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
)

// A condition tree compiles to one query of entity ids (column
// entity_id), in one of two forms (store.Capabilities.SetsByJoins). A
// leaf is a SELECT of the entities it holds for (an entity may appear
// several times).
//   - By joins (DuckDB): all is the first of its conditions filtered by
//     semi joins (IN) on the others and anti joins (NOT IN) on those under
//     not; any is UNION ALL; a lone not is the live entities filtered by an
//     anti join; the whole is the live entities filtered by a semi join on
//     the tree (or, for all at the top, on its conditions), so each entity
//     appears once. Semi and anti joins hash one side and probe the other:
//     INTERSECT and EXCEPT would hash both sides again to remove
//     duplicates, about twice the work on millions of text ids.
//   - By set operations (PostgreSQL): all is INTERSECT, any is UNION, not
//     is EXCEPT from the live entities, and the result is intersected with
//     the live entities. Hashed set operations cost the same whatever the
//     planner's estimates, where NOT IN or OR over subqueries would fall
//     back to per-row plans, and joins over temporary tables without
//     statistics to nested loops.
//
// Membership of another segment is that segment's condition inlined, so
// the order segments are computed in never matters. Values are SQL
// literals made here from validated values (numbers formatted, strings
// quoted); only where and sum.field are SQL from the config, which runs
// confined (store.RunConfigSQL).

// compiler compiles condition trees for one run.
type compiler struct {
	// joins compiles to semi and anti joins rather than set operations
	// (store.Capabilities.SetsByJoins).
	joins    bool
	env      *Env
	segments map[string]*Definition
	now      time.Time
	// props resolves property references to published properties.
	props []plugin.Property
	// cand, when set, is a table of entity ids (column entity_id) the
	// query is limited to.
	cand string
	// propValues is the table of property values the query reads.
	propValues string
	// done are the segments this run has computed: a reference to one
	// reads its members (computedMembers) instead of its condition.
	done map[string]bool
	// local reads the copies of the candidates' rows (local.go) instead
	// of the whole tables.
	local bool
	// values are, by valueKey, the seqs up to which the per-event values
	// of event conditions are kept (eventvalues.go).
	values map[int64]int64
	// fields are, by valueKey, the conditions that read their values
	// beyond those kept from the copy of their type's payload fields
	// (eventfields.go).
	fields map[int64]*fieldSource
	// seqParts joins per-event values to events in ranges of seqs
	// (store.Capabilities.JoinsInSeqParts, eventjoin.go).
	seqParts bool
	// snapshot, when set (a preview), is the log's last seq when the
	// work began: events after it need not be evaluated (eventjoin.go).
	snapshot int64
	n        int
}

// table is the table a query reads: the candidates' copy in local mode.
func (c *compiler) table(name string) string {
	if !c.local {
		return name
	}
	return map[string]string{"entities": "seg_c_entities", "customer_attributes": "seg_c_attrs", "identifiers": "seg_c_idents",
		"segment_members": "seg_c_members"}[name]
}

func newCompiler(caps store.Capabilities, env *Env, defs []Definition, props []plugin.Property, now time.Time) *compiler {
	c := &compiler{joins: caps.SetsByJoins(), seqParts: caps.JoinsInSeqParts(), env: env, segments: map[string]*Definition{}, now: now.UTC(), props: props, propValues: "plugin_property_values"}
	for i := range defs {
		c.segments[defs[i].ID] = &defs[i]
	}
	return c
}

// query is the query of the entity ids of the live entities (of c.cand,
// when set) for which the condition holds, each once.
func (c *compiler) query(cond *Condition) (string, error) {
	if c.liveEvents(cond) {
		// Live entities already, each once.
		return c.event(cond)
	}
	if cond.kind() == "all" {
		if i := slices.IndexFunc(cond.All, func(n Condition) bool { return c.liveEvents(&n) }); i >= 0 {
			return c.allFrom(&cond.All[i], slices.Delete(slices.Clone(cond.All), i, i+1))
		}
	}
	if c.joins && cond.kind() == "all" {
		// Its conditions filter the live entities directly.
		pos, neg, err := c.operands(cond.All)
		if err != nil {
			return "", err
		}
		return c.filter(c.universe(), pos, neg), nil
	}
	if c.joins {
		// The live entities filtered once, by a semi join on the tree or
		// an anti join on its complement (signed).
		q, negated, err := c.signed(cond)
		if err != nil {
			return "", err
		}
		if negated {
			return c.filter(c.universe(), nil, []string{q}), nil
		}
		return c.filter(c.universe(), []string{q}, nil), nil
	}
	tree, err := c.node(cond)
	if err != nil {
		return "", err
	}
	return c.setOp("INTERSECT", c.universe(), tree), nil
}

// liveEvents reports whether n is an event condition over all entities
// that holds only for entities with a matching event (its count or sum
// does not hold for 0). Its query then lists live entities, each once
// (entity_events maps events to live entities only: merges move the
// mappings to the survivor, erasure deletes them), and a tree that is it,
// or an all of it and others, needs no filter by the live entities: on
// 10M events, the semi join of the live entities to the 669,077 buyers of
// 400 days doubled the count's time (0.31-0.37 s alone, 0.64-0.86 s with
// it, DuckDB at load 4).
func (c *compiler) liveEvents(n *Condition) bool {
	if c.cand != "" || n.kind() != "event" {
		return false
	}
	cmp, dataType := n.Count.comparison(), attr.DataInt
	if n.Sum != nil {
		cmp, dataType = n.Sum, attr.DataFloat
	}
	if cmp == nil {
		return false
	}
	_, zero, err := counted(cmp, dataType, "x", c.now)
	return err == nil && !zero
}

// allFrom is the entities of the live event condition base (liveEvents)
// for which every condition of rest holds.
func (c *compiler) allFrom(base *Condition, rest []Condition) (string, error) {
	q, err := c.event(base)
	if err != nil || len(rest) == 0 {
		return q, err
	}
	if !c.joins {
		qs, err := c.nodes(rest)
		if err != nil {
			return "", err
		}
		return c.setOp("INTERSECT", append([]string{q}, qs...)...), nil
	}
	pos, neg, err := c.operands(rest)
	if err != nil {
		return "", err
	}
	return c.filter(q, pos, neg), nil
}

// restrict limits a column to the candidates, if any.
func (c *compiler) restrict(col string) string {
	if c.cand == "" {
		return ""
	}
	return " AND " + col + " IN (SELECT entity_id FROM " + c.cand + ")"
}

// universe is the live entities (of the candidates).
func (c *compiler) universe() string {
	return "SELECT id AS entity_id FROM " + c.table("entities") + " WHERE merged_into IS NULL" + c.restrict("id")
}

func (c *compiler) alias() string {
	c.n++
	return "q" + strconv.Itoa(c.n)
}

// filter is the rows of q whose entity is in every query of in and in
// none of notIn, by semi and anti joins.
func (c *compiler) filter(q string, in, notIn []string) string {
	if len(in) == 0 && len(notIn) == 0 {
		return q
	}
	a := c.alias()
	col := a + ".entity_id"
	conds := make([]string, 0, len(in)+len(notIn))
	for _, x := range in {
		conds = append(conds, col+" IN (SELECT entity_id FROM ("+x+") "+c.alias()+")")
	}
	for _, x := range notIn {
		conds = append(conds, col+" NOT IN (SELECT entity_id FROM ("+x+") "+c.alias()+")")
	}
	return "SELECT " + col + " FROM (" + q + ") " + a + " WHERE " + strings.Join(conds, "\nAND ")
}

// setOp joins queries by a set operation, each a plain SELECT.
func (c *compiler) setOp(op string, qs ...string) string {
	parts := make([]string, len(qs))
	for i, q := range qs {
		parts[i] = "SELECT entity_id FROM (" + q + ") " + c.alias()
	}
	return strings.Join(parts, "\n"+op+"\n")
}

// minus is the entities of a that are not in b.
func (c *compiler) minus(a, b string) string {
	if c.joins {
		return c.filter(a, nil, []string{b})
	}
	return c.setOp("EXCEPT", a, b)
}

// operands compiles the conditions of an all: the queries they hold for
// and the queries they must not (signed: those under not, and those that
// hold for the live entities outside a query).
func (c *compiler) operands(list []Condition) (pos, neg []string, err error) {
	for i := range list {
		q, negated, err := c.signed(&list[i])
		if err != nil {
			return nil, nil, err
		}
		if negated {
			neg = append(neg, q)
		} else {
			pos = append(pos, q)
		}
	}
	return pos, neg, nil
}

// signed compiles a condition for the semi and anti joins of an all (or of
// the whole tree): a query it holds for (negated false), or one whose
// complement among the live entities it holds for (negated true). The
// conditions that node compiles to the live entities less a query (not;
// is_not_set; an event condition that holds for 0) are given as that
// query, negated, so that the filter reading them makes one anti join
// rather than a semi join on the live entities anti-joined to the query:
// a scan of the live entities and a hash table of their ids fewer. Under
// not, the sign flips: not is_not_set is the query of is_set. Measured on
// 10M events (DuckDB, CPU of the query): an all of an attribute and page
// views under 3 in a window (the bench's quiet_visitors) 1.13-1.41 s
// before, 0.82-0.95 s after; the bench's engaged, with not is_not_set,
// 0.51-0.72 s before, 0.27-0.29 s after; a lone count < 3, 0.92-1.11 s
// before, 0.71-0.72 s after.
func (c *compiler) signed(n *Condition) (string, bool, error) {
	switch n.kind() {
	case "not":
		q, negated, err := c.signed(n.Not)
		return q, !negated, err
	case "attribute", "property":
		if n.Op == OpIsNotSet {
			n := *n
			n.Op = OpIsSet
			q, err := c.node(&n)
			return q, true, err
		}
	case "event":
		groups, test, zero, err := c.eventTest(n)
		if err != nil {
			return "", false, err
		}
		if zero {
			return groups + "NOT (" + test + ")", true, nil
		}
		return groups + test, false, nil
	case "segment":
		if d := c.segments[n.Segment]; d != nil && !c.done[n.Segment] {
			return c.signed(&d.Condition)
		}
	case "all":
		if len(n.All) == 1 {
			return c.signed(&n.All[0])
		}
	}
	q, err := c.node(n)
	return q, false, err
}

// all is the entities for which every condition holds.
func (c *compiler) all(list []Condition) (string, error) {
	if !c.joins {
		qs, err := c.nodes(list)
		if err != nil {
			return "", err
		}
		return c.setOp("INTERSECT", qs...), nil
	}
	pos, neg, err := c.operands(list)
	if err != nil {
		return "", err
	}
	if len(pos) == 0 {
		return c.filter(c.universe(), nil, neg), nil
	}
	// The first condition's entities filtered by the others.
	return c.filter(pos[0], pos[1:], neg), nil
}

func (c *compiler) nodes(list []Condition) ([]string, error) {
	qs := make([]string, len(list))
	for i := range list {
		q, err := c.node(&list[i])
		if err != nil {
			return nil, err
		}
		qs[i] = q
	}
	return qs, nil
}

func (c *compiler) node(n *Condition) (string, error) {
	switch n.kind() {
	case "all":
		if len(n.All) == 1 {
			return c.node(&n.All[0])
		}
		return c.all(n.All)
	case "any":
		qs, err := c.nodes(n.Any)
		if err != nil {
			return "", err
		}
		if len(qs) == 1 {
			return qs[0], nil
		}
		if c.joins {
			// Duplicates do no harm to the semi join reading it.
			return c.setOp("UNION ALL", qs...), nil
		}
		return c.setOp("UNION", qs...), nil
	case "not":
		q, err := c.node(n.Not)
		if err != nil {
			return "", err
		}
		return c.minus(c.universe(), q), nil
	case "attribute":
		return c.attribute(n)
	case "property":
		return c.property(n)
	case "event":
		return c.event(n)
	case "identifier":
		return "SELECT entity_id FROM " + c.table("identifiers") + " WHERE category = " + quote(n.Identifier) + c.restrict("entity_id"), nil
	case "segment":
		d := c.segments[n.Segment]
		if d == nil {
			return "", fmt.Errorf("unknown segment %q", n.Segment)
		}
		if c.done[n.Segment] {
			return c.computedMembers(n.Segment), nil
		}
		return c.node(&d.Condition)
	}
	return "", fmt.Errorf("a condition needs exactly one kind, has %v", n.kinds())
}

// computedMembers is the query of the members of a segment this run has
// computed, as the run will leave them: those of segment_members less
// those that exited, and those that entered (seg_diff holds its changes;
// the run writes them all at its end). In local mode the members are the
// candidates' copy (seg_c_members, made before any segment was computed,
// and segment_members changes only at the run's end): two scans of the
// 4.7M members of a 10M store cost lapsed 40-70 ms of an incremental run.
func (c *compiler) computedMembers(id string) string {
	diff := func(change string) string {
		return "SELECT entity_id FROM seg_diff WHERE segment_id = " + quote(id) + " AND change = '" + change + "'" + c.restrict("entity_id")
	}
	stayed := c.minus("SELECT entity_id FROM "+c.table("segment_members")+" WHERE segment_id = "+quote(id)+c.restrict("entity_id"), diff("exited"))
	return "SELECT entity_id FROM (" + stayed + ") " + c.alias() + "\nUNION ALL\n" + diff("entered")
}

// castSQL is the stored text value (column value) as the data type.
func castSQL(dataType string) string {
	switch dataType {
	case attr.DataInt:
		return "weft_to_int(value)"
	case attr.DataFloat:
		return "weft_to_float(value)"
	case attr.DataBool:
		return "weft_to_bool(value)"
	case attr.DataDate:
		return "weft_to_date(value)"
	case attr.DataDatetime:
		return "weft_to_datetime(value)"
	}
	return "value"
}

func (c *compiler) attribute(n *Condition) (string, error) {
	d := c.env.attrs[n.Attribute]
	if d == nil {
		return "", fmt.Errorf("unknown attribute %q", n.Attribute)
	}
	base := "SELECT entity_id FROM " + c.table("customer_attributes") + " WHERE attribute_id = " + quote(n.Attribute) + c.restrict("entity_id")
	dt := d.ResultType()
	return c.compare(n, base, castSQL(dt), dt, d.Type == attr.TypeList, func(v value) string { return v.sql(c.now) })
}

// compare is the query of a comparison over rows of base (one per value;
// an entity holds when one of its values does), x being the typed value.
func (c *compiler) compare(n *Condition, base, x, dataType string, list bool, lit func(value) string) (string, error) {
	one := func(raw any) (string, error) {
		v, err := literal(raw, dataType)
		if err != nil {
			return "", err
		}
		return lit(v), nil
	}
	where := func(cond string) string { return base + " AND " + cond }
	switch n.Op {
	case OpIsSet:
		return base, nil
	case OpIsNotSet:
		return c.minus(c.universe(), base), nil
	case OpEq, OpNe:
		l, err := one(n.Value)
		if err != nil {
			return "", err
		}
		eq := where(x + " = " + l)
		if n.Op == OpNe {
			// Set, and no value equal: for a list, none of its elements.
			return c.minus(base, eq), nil
		}
		return eq, nil
	case OpLt, OpLe, OpGt, OpGe:
		l, err := one(n.Value)
		if err != nil {
			return "", err
		}
		return where(x + " " + n.Op + " " + l), nil
	case OpIn, OpBetween:
		list, _ := n.Value.([]any)
		lits := make([]string, len(list))
		for i, raw := range list {
			l, err := one(raw)
			if err != nil {
				return "", err
			}
			lits[i] = l
		}
		if n.Op == OpBetween {
			if len(lits) != 2 {
				return "", fmt.Errorf("between needs two values")
			}
			return where(x + " BETWEEN " + lits[0] + " AND " + lits[1]), nil
		}
		return where(x + " IN (" + strings.Join(lits, ", ") + ")"), nil
	case OpContains:
		l, err := one(n.Value)
		if err != nil {
			return "", err
		}
		if list {
			return where(x + " = " + l), nil
		}
		return where("strpos(" + x + ", " + l + ") > 0"), nil
	}
	return "", fmt.Errorf("unknown operator %q", n.Op)
}

// resolve finds the published property a reference names, if any.
func (c *compiler) resolve(ref string) (plugin.Property, bool) {
	return plugin.ResolveProperty(ref, c.props)
}

func (c *compiler) property(n *Condition) (string, error) {
	want := propertyTypeOf(n.Value)
	p, ok := c.resolve(n.Property)
	id := n.Property // names no property: no entity has a value
	if ok {
		id = p.ID
		have := map[string]string{plugin.TypeNumber: attr.DataFloat, plugin.TypeBoolean: attr.DataBool, plugin.TypeText: attr.DataString}[p.Type]
		if n.Value != nil && have != "" && have != want {
			return "", fmt.Errorf("property %s holds %s values; the condition compares %s", p.ID, p.Type, typeName(want))
		}
		if have != "" {
			want = have
		}
	}
	base := "SELECT entity_id FROM " + c.propValues + " WHERE property_id = " + quote(id) + " AND value <> 'null'" + c.restrict("entity_id")
	x, lit := castSQL(want), func(v value) string { return v.sql(c.now) }
	if want == attr.DataString {
		// Text values are stored as their JSON.
		lit = func(v value) string {
			if n.Op == OpContains {
				return quote(strings.Trim(jsonText(v.s), `"`))
			}
			return quote(jsonText(v.s))
		}
	}
	return c.compare(n, base, x, want, false, lit)
}

func typeName(dataType string) string {
	return map[string]string{attr.DataFloat: "a number", attr.DataBool: "a boolean", attr.DataString: "text"}[dataType]
}

// window is the SQL condition of an event condition's window.
func (c *compiler) window(n *Condition) string {
	if n.Last != "" {
		d, _ := parseDuration(n.Last)
		return "ev.event_time >= " + timestampSQL(c.now.Add(-d))
	}
	from, _ := parseMoment(n.Between[0])
	to, _ := parseMoment(n.Between[1])
	w := "ev.event_time >= " + timestampSQL(from.at(c.now))
	if to.dateOnly {
		// A date as the end is the whole day.
		return w + " AND ev.event_time < " + timestampSQL(to.at(c.now).AddDate(0, 0, 1))
	}
	return w + " AND ev.event_time <= " + timestampSQL(to.at(c.now))
}

// eventFilter is the condition on event_log ev of an event condition's
// event type.
func eventFilter(n *Condition) string {
	f := typeFilter(n)
	if r, _ := parseEventRef(n.Event); r.version != "" {
		f += " AND ev.version = " + quote(r.version)
	}
	return f
}

// typeFilter is eventFilter without the version, which entity_events
// does not carry.
func typeFilter(n *Condition) string {
	r, _ := parseEventRef(n.Event)
	return "ev.source_id = " + quote(r.source) + " AND ev.type = " + quote(r.typ)
}

// eventsFrom is the join of the entities' events.
const eventsFrom = "entity_events ee JOIN event_log ev ON ev.seq = ee.event_seq"

// mapped reports whether the events an event condition's type and window
// select are found in entity_events alone, with no join to the log: the
// mappings carry each event's source_id, type and event_time (migration
// 039), not its version. Read as ev, they answer eventFilter and window
// as the log does.
func mapped(n *Condition) bool {
	r, _ := parseEventRef(n.Event)
	return r.version == ""
}

func (c *compiler) event(n *Condition) (string, error) {
	q, test, zero, err := c.eventTest(n)
	if err != nil {
		return "", err
	}
	if zero {
		// Entities without a matching event count (or sum) 0, which
		// holds: all but those whose events make it fail.
		return c.minus(c.universe(), q+"NOT ("+test+")"), nil
	}
	return q + test, nil
}

// eventTest is an event condition's grouping of the entities' events up
// to its HAVING, the test that follows it, and whether the condition holds
// for 0 (an entity without a matching event).
func (c *compiler) eventTest(n *Condition) (groups, test string, zero bool, err error) {
	groups, v := c.eventGroups(n)
	cmp, dataType, agg := n.Count.comparison(), attr.DataInt, "count("+v+")"
	if n.Sum != nil {
		cmp, dataType, agg = n.Sum, attr.DataFloat, "coalesce(sum("+v+"), 0)"
	}
	test, zero, err = counted(cmp, dataType, agg, c.now)
	return groups + " HAVING ", test, zero, err
}

// eventGroups is the grouping by entity of the events an event condition
// counts, before its HAVING, and the expression whose count(x) counts
// them and sum(x) sums the field. A condition that only counts (no where,
// no sum, no version: mapped) reads entity_events alone: over all
// entities the join of the log's matching events to the 10M mappings was
// two thirds of the count (BENCHMARKS.md). The where and the field, which
// parse payloads, run on as few events as can be. Over all entities, on
// the log's events of the type in the window, projected before the join
// to the entities: carrying payloads through a join of millions of rows
// costs more than the condition. Over candidates (an incremental run), on
// the candidates' events only, found first through entity_events: in the
// aggregate, not WHERE, since a filter would run in the log's scan,
// before the join. A condition with a where or a sum whose per-event
// values the run kept (c.values) reads those instead (keptGroups), in
// either case.
func (c *compiler) eventGroups(n *Condition) (string, string) {
	v := eventValue(n)
	filter := eventFilter(n) + " AND " + c.window(n)
	if c.cand == "" && n.Where == "" && n.Sum == nil && mapped(n) {
		return "SELECT ev.entity_id FROM entity_events ev WHERE " + filter + " GROUP BY ev.entity_id", v
	}
	if key, _, ok := valueKey(n); ok && (c.values[key] > 0 || c.fields[key] != nil) && (c.cand == "" || c.local) {
		return c.keptGroups(n, key, c.values[key]), "x.v"
	}
	if c.cand == "" {
		if n.Where != "" {
			filter += " AND (" + n.Where + ")"
		}
		return "SELECT ee.entity_id FROM entity_events ee JOIN (SELECT ev.seq, " + v + " AS v FROM event_log ev WHERE " + filter +
			") x ON x.seq = ee.event_seq GROUP BY ee.entity_id", "x.v"
	}
	if n.Where != "" {
		v = "CASE WHEN (" + n.Where + ") THEN " + v + " END"
	}
	if c.local && n.Where == "" && n.Sum == nil {
		return "SELECT entity_id FROM seg_c_events ev WHERE " + filter + c.restrict("entity_id") + " GROUP BY entity_id", v
	}
	// ce has no column of the log's, which where may name unqualified.
	ce := "SELECT entity_id, event_seq FROM entity_events WHERE TRUE"
	if c.local {
		ce = "SELECT entity_id, seq AS event_seq FROM seg_c_events WHERE TRUE"
	}
	return "SELECT ce.entity_id FROM (" + ce + c.restrict("entity_id") + ") ce JOIN event_log ev ON ev.seq = ce.event_seq WHERE " + filter +
		" GROUP BY ce.entity_id", v
}

// counted is the test of an aggregate against a comparison, and whether it
// holds for 0 (no event).
func counted(cmp *Comparison, dataType, agg string, now time.Time) (string, bool, error) {
	num := func(raw any) (value, error) { return literal(raw, dataType) }
	asFloat := func(v value) float64 {
		if dataType == attr.DataInt {
			return float64(v.i)
		}
		return v.f
	}
	if cmp.Op == OpBetween {
		list, _ := cmp.Value.([]any)
		if len(list) != 2 {
			return "", false, fmt.Errorf("between needs two numbers")
		}
		lo, err := num(list[0])
		if err != nil {
			return "", false, err
		}
		hi, err := num(list[1])
		if err != nil {
			return "", false, err
		}
		return agg + " BETWEEN " + lo.sql(now) + " AND " + hi.sql(now), asFloat(lo) <= 0 && 0 <= asFloat(hi), nil
	}
	v, err := num(cmp.Value)
	if err != nil {
		return "", false, err
	}
	op := cmp.Op
	if op == OpNe {
		op = "<>"
	}
	return agg + " " + op + " " + v.sql(now), holds(cmp.Op, 0, asFloat(v)), nil
}

// holds compares two numbers with an operator.
func holds(op string, a, b float64) bool {
	switch op {
	case OpEq:
		return a == b
	case OpNe:
		return a != b
	case OpLt:
		return a < b
	case OpLe:
		return a <= b
	case OpGt:
		return a > b
	case OpGe:
		return a >= b
	}
	return false
}

// moved are the parts of the query of the entities for which a relative
// bound of conditions moved over one of their events or values between
// two runs: an incremental run evaluates them again.
type moved struct {
	// events are the event types' filters on event_log ev, each with the
	// times a bound of its window moved between.
	events []movedWindow
	// values are queries of the entities a relative date of an attribute
	// condition moved over one of the values of.
	values []string
}

type movedWindow struct {
	filter, from, to string
	mapped           bool // entity_events answers filter (mapped)
}

// add adds the parts of a condition (and of the segments it refers to)
// whose relative bounds moved between the runs at prev and c.now, and
// reports whether it has any.
func (m *moved) add(c *compiler, cond *Condition, prev time.Time) bool {
	found := false
	visitWithRefs(cond, c.segments, func(x *Condition) {
		switch {
		case x.Event != "":
			for _, off := range eventOffsets(x) {
				found = true
				w := movedWindow{eventFilter(x), timestampSQL(prev.Add(off)), timestampSQL(c.now.Add(off)), mapped(x)}
				if !slices.Contains(m.events, w) {
					m.events = append(m.events, w)
				}
			}
		case x.Attribute != "":
			d := c.env.attrs[x.Attribute]
			if d == nil {
				return
			}
			dt := d.ResultType()
			if dt != attr.DataDate && dt != attr.DataDatetime {
				return
			}
			for _, off := range valueOffsets(x) {
				found = true
				// A day either side covers the dates' truncation.
				lo, hi := prev.Add(off).AddDate(0, 0, -1), c.now.Add(off).AddDate(0, 0, 1)
				q := "SELECT entity_id FROM customer_attributes WHERE attribute_id = " + quote(x.Attribute) +
					" AND weft_to_datetime(value) BETWEEN " + timestampSQL(lo) + " AND " + timestampSQL(hi)
				if !slices.Contains(m.values, q) {
					m.values = append(m.values, q)
				}
			}
		}
	})
	return found
}

// query is the query of the entities of all the parts ("" for none). The
// windows of events are read in one join of the log to the entities,
// however many segments and event types they are of: a join per window
// scanned the event times and the entity ids of the whole log each
// (10M events, two windows: 0.27 to 0.30 s of CPU, against 0.11 to 0.15 s
// in one). The windows' times are tested first, alone (a filter on one
// column, which DuckDB applies in the scan), then with their types. When
// no window names a version (mapped), entity_events alone answers them.
func (m *moved) query() string {
	var qs []string
	if len(m.events) > 0 {
		var times, windows []string
		from, entity := "entity_events ev", "ev.entity_id"
		for _, w := range m.events {
			if !w.mapped {
				from, entity = eventsFrom, "ee.entity_id"
			}
			t := "ev.event_time >= " + w.from + " AND ev.event_time <= " + w.to
			if !slices.Contains(times, "("+t+")") {
				times = append(times, "("+t+")")
			}
			windows = append(windows, "("+w.filter+" AND "+t+")")
		}
		qs = append(qs, "SELECT "+entity+" FROM "+from+" WHERE ("+strings.Join(times, " OR ")+
			")\nAND ("+strings.Join(windows, "\nOR ")+")")
	}
	qs = append(qs, m.values...)
	return strings.Join(qs, "\nUNION ALL\n")
}

// eventOffsets are the relative bounds of an event condition's window.
func eventOffsets(n *Condition) []time.Duration {
	if n.Last != "" {
		d, _ := parseDuration(n.Last)
		return []time.Duration{-d}
	}
	var out []time.Duration
	for _, s := range n.Between {
		if m, err := parseMoment(s); err == nil && m.relative {
			out = append(out, m.offset)
		}
	}
	return out
}

// valueOffsets are the relative dates among a condition's values.
func valueOffsets(n *Condition) []time.Duration {
	var out []time.Duration
	add := func(x any) {
		if s, ok := x.(string); ok {
			if m, err := parseMoment(s); err == nil && m.relative {
				out = append(out, m.offset)
			}
		}
	}
	if list, ok := n.Value.([]any); ok {
		for _, x := range list {
			add(x)
		}
	} else {
		add(n.Value)
	}
	return out
}

// usesProperties lists the property references of a condition, the
// segments it refers to included.
func (c *compiler) usesProperties(cond *Condition) []string {
	var out []string
	visitWithRefs(cond, c.segments, func(x *Condition) {
		if x.Property != "" {
			out = append(out, x.Property)
		}
	})
	return out
}

// visitWithRefs calls fn on every node of a condition and of the segments
// it refers to, each segment once.
func visitWithRefs(cond *Condition, segments map[string]*Definition, fn func(*Condition)) {
	seen := map[string]bool{}
	var visit func(c *Condition)
	visit = func(c *Condition) {
		c.walk(func(n *Condition) {
			fn(n)
			if d := segments[n.Segment]; d != nil && !seen[n.Segment] {
				seen[n.Segment] = true
				visit(&d.Condition)
			}
		})
	}
	visit(cond)
}

// hash fingerprints what a segment's members depend on besides the data:
// its condition with the segments it refers to inlined, and the data types
// of the attributes it reads. A new hash computes the segment fully.
func (c *compiler) hash(d *Definition) string {
	type attrType struct{ Type, DataType string }
	doc := struct {
		Condition Condition
		Segments  map[string]Condition
		Attrs     map[string]attrType
	}{Condition: d.Condition, Segments: map[string]Condition{}, Attrs: map[string]attrType{}}
	visitWithRefs(&d.Condition, c.segments, func(x *Condition) {
		if a := c.env.attrs[x.Attribute]; a != nil {
			doc.Attrs[a.ID] = attrType{a.Type, a.ResultType()}
		}
		if s := c.segments[x.Segment]; s != nil {
			doc.Segments[s.ID] = s.Condition
		}
	})
	b, _ := json.Marshal(doc)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// comparison is the count's test as a Comparison without a field (nil
// for no count).
func (c *Count) comparison() *Comparison {
	if c == nil {
		return nil
	}
	return &Comparison{Op: c.Op, Value: c.Value}
}
