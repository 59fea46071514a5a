package segment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/plugin"
	. "github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store"
)

// The reference evaluates a condition for one entity the slow, obvious
// way: the entity's values, identifiers and events read into Go and the
// condition walked node by node. Where and sum.field, SQL from the config,
// are evaluated per event with a plain query.

type refEvent struct {
	seq                  int64
	source, typ, version string
	at                   time.Time
}

type refEntity struct {
	attrs  map[string][]string
	props  map[string]string
	idents map[string]bool
	events []refEvent
}

type reference struct {
	t        *testing.T
	db       *store.DB
	env      *Env
	segments map[string]*Definition
	props    []plugin.Property
	now      time.Time
	entities map[string]*refEntity
	sqlCache map[string]sqlResult
}

type sqlResult struct {
	where bool
	field *float64
}

// loadReference reads every live entity with its data.
func loadReference(t *testing.T, db *store.DB, env *Env, defs []Definition, now time.Time) *reference {
	t.Helper()
	ctx := context.Background()
	props, err := PropertiesOf(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	r := &reference{t: t, db: db, env: env, segments: map[string]*Definition{}, props: props, now: now,
		entities: map[string]*refEntity{}, sqlCache: map[string]sqlResult{}}
	for i := range defs {
		r.segments[defs[i].ID] = &defs[i]
	}
	each := func(q string, fn func(rows interface{ Scan(...any) error })) {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			fn(rows)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	each("SELECT id FROM entities WHERE merged_into IS NULL", func(s interface{ Scan(...any) error }) {
		var id string
		if err := s.Scan(&id); err != nil {
			t.Fatal(err)
		}
		r.entities[id] = &refEntity{attrs: map[string][]string{}, props: map[string]string{}, idents: map[string]bool{}}
	})
	each("SELECT entity_id, attribute_id, value FROM customer_attributes", func(s interface{ Scan(...any) error }) {
		var e, a, v string
		if err := s.Scan(&e, &a, &v); err != nil {
			t.Fatal(err)
		}
		if x := r.entities[e]; x != nil {
			x.attrs[a] = append(x.attrs[a], v)
		}
	})
	each("SELECT entity_id, property_id, value FROM plugin_property_values", func(s interface{ Scan(...any) error }) {
		var e, p, v string
		if err := s.Scan(&e, &p, &v); err != nil {
			t.Fatal(err)
		}
		if x := r.entities[e]; x != nil {
			x.props[p] = v
		}
	})
	each("SELECT entity_id, category FROM identifiers", func(s interface{ Scan(...any) error }) {
		var e, c string
		if err := s.Scan(&e, &c); err != nil {
			t.Fatal(err)
		}
		if x := r.entities[e]; x != nil {
			x.idents[c] = true
		}
	})
	each("SELECT ee.entity_id, ev.seq, ev.source_id, ev.type, ev.version, ev.event_time FROM entity_events ee JOIN event_log ev ON ev.seq = ee.event_seq", func(s interface{ Scan(...any) error }) {
		var e string
		var ev refEvent
		if err := s.Scan(&e, &ev.seq, &ev.source, &ev.typ, &ev.version, &ev.at); err != nil {
			t.Fatal(err)
		}
		if x := r.entities[e]; x != nil {
			x.events = append(x.events, ev)
		}
	})
	return r
}

// members are the live entities for which the condition holds.
func (r *reference) members(c *Condition) []string {
	var out []string
	for id, e := range r.entities {
		if r.eval(c, e) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (r *reference) eval(c *Condition, e *refEntity) bool {
	switch {
	case c.All != nil:
		for i := range c.All {
			if !r.eval(&c.All[i], e) {
				return false
			}
		}
		return true
	case c.Any != nil:
		for i := range c.Any {
			if r.eval(&c.Any[i], e) {
				return true
			}
		}
		return false
	case c.Not != nil:
		return !r.eval(c.Not, e)
	case c.Segment != "":
		return r.eval(&r.segments[c.Segment].Condition, e)
	case c.Identifier != "":
		return e.idents[c.Identifier]
	case c.Attribute != "":
		d := r.env.Attribute(c.Attribute)
		vals := make([]any, 0, len(e.attrs[c.Attribute]))
		for _, v := range e.attrs[c.Attribute] {
			vals = append(vals, attr.JSONValueOf(d.ResultType(), v))
		}
		return r.compare(c, vals, d.ResultType(), d.Type == attr.TypeList)
	case c.Property != "":
		p, ok := plugin.ResolveProperty(c.Property, r.props)
		var vals []any
		if raw, has := e.props[p.ID]; ok && has && raw != "null" {
			var v any
			if err := json.Unmarshal([]byte(raw), &v); err != nil {
				r.t.Fatal(err)
			}
			vals = append(vals, v)
		}
		return r.compare(c, vals, PropertyTypeOf(c.Value), false)
	case c.Event != "":
		return r.event(c, e)
	}
	r.t.Fatalf("reference: node %+v", c)
	return false
}

// compare holds when one value does (!=: set, and none equal).
func (r *reference) compare(c *Condition, vals []any, dataType string, list bool) bool {
	switch c.Op {
	case OpIsSet:
		return len(vals) > 0
	case OpIsNotSet:
		return len(vals) == 0
	case OpNe:
		eq := *c
		eq.Op = OpEq
		return len(vals) > 0 && !r.compare(&eq, vals, dataType, list)
	}
	for _, v := range vals {
		if r.one(c, v, dataType, list) {
			return true
		}
	}
	return false
}

// key turns a value (stored, or of the condition) into something ordered:
// a float64, a bool, or a string (dates and datetimes as UTC text that
// sorts in time order).
func (r *reference) key(v any, dataType string) any {
	switch dataType {
	case attr.DataInt, attr.DataFloat:
		switch n := v.(type) {
		case int64:
			return float64(n)
		case int:
			return float64(n)
		case float64:
			return n
		}
	case attr.DataBool:
		return v
	case attr.DataDate, attr.DataDatetime:
		s := v.(string)
		t, _, err := MomentAt(s, r.now)
		if err != nil {
			r.t.Fatalf("reference: date %q: %v", s, err)
		}
		if dataType == attr.DataDate {
			return t.Format("2006-01-02")
		}
		return t.UTC().Format("2006-01-02T15:04:05.000000")
	}
	return v
}

func less(a, b any) bool {
	switch x := a.(type) {
	case float64:
		return x < b.(float64)
	case string:
		return x < b.(string)
	}
	return false
}

func (r *reference) one(c *Condition, v any, dataType string, list bool) bool {
	got := r.key(v, dataType)
	want := func(x any) any { return r.key(x, dataType) }
	switch c.Op {
	case OpEq:
		return got == want(c.Value)
	case OpLt:
		return less(got, want(c.Value))
	case OpLe:
		return less(got, want(c.Value)) || got == want(c.Value)
	case OpGt:
		return less(want(c.Value), got)
	case OpGe:
		return less(want(c.Value), got) || got == want(c.Value)
	case OpIn:
		for _, x := range c.Value.([]any) {
			if got == want(x) {
				return true
			}
		}
		return false
	case OpBetween:
		lo, hi := want(c.Value.([]any)[0]), want(c.Value.([]any)[1])
		return !less(got, lo) && !less(hi, got)
	case OpContains:
		if list {
			return got == want(c.Value)
		}
		return strings.Contains(got.(string), c.Value.(string))
	}
	r.t.Fatalf("reference: operator %q", c.Op)
	return false
}

func (r *reference) event(c *Condition, e *refEntity) bool {
	source, typ, version, _ := EventRef(c.Event)
	var from, to time.Time
	toInclusive := true
	if c.Last != "" {
		d, _ := ParseDuration(c.Last)
		from, to = r.now.Add(-d), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	} else {
		var dateOnly bool
		from, _, _ = MomentAt(c.Between[0], r.now)
		to, dateOnly, _ = MomentAt(c.Between[1], r.now)
		if dateOnly {
			to, toInclusive = to.AddDate(0, 0, 1), false
		}
	}
	var count, sum float64
	for _, ev := range e.events {
		if ev.source != source || ev.typ != typ || (version != "" && ev.version != version) {
			continue
		}
		if ev.at.Before(from) || ev.at.After(to) || (!toInclusive && ev.at.Equal(to)) {
			continue
		}
		field := ""
		if c.Sum != nil {
			field = c.Sum.Field
		}
		res := r.perEvent(ev.seq, c.Where, field)
		if c.Where != "" && !res.where {
			continue
		}
		count++
		if res.field != nil {
			sum += *res.field
		}
	}
	op, value, agg := "", any(nil), count
	if c.Count != nil {
		op, value = c.Count.Op, c.Count.Value
	} else {
		op, value, agg = c.Sum.Op, c.Sum.Value, sum
	}
	num := func(x any) float64 {
		switch n := x.(type) {
		case int:
			return float64(n)
		case float64:
			return n
		}
		r.t.Fatalf("reference: number %v", x)
		return 0
	}
	if op == OpBetween {
		l := value.([]any)
		return num(l[0]) <= agg && agg <= num(l[1])
	}
	return Holds(op, agg, num(value))
}

// perEvent evaluates where and field on one event with a plain query.
func (r *reference) perEvent(seq int64, where, field string) sqlResult {
	key := fmt.Sprint(seq, "\x00", where, "\x00", field)
	if res, ok := r.sqlCache[key]; ok {
		return res
	}
	if where == "" {
		where = "TRUE"
	}
	if field == "" {
		field = "NULL"
	}
	var w *bool
	var f *float64
	q := "SELECT (" + where + "), CAST((" + field + ") AS DOUBLE PRECISION) FROM event_log WHERE seq = " + strconv.FormatInt(seq, 10)
	if err := r.db.QueryRowContext(context.Background(), q).Scan(&w, &f); err != nil {
		r.t.Fatalf("reference: %s: %v", q, err)
	}
	res := sqlResult{where: w != nil && *w, field: f}
	r.sqlCache[key] = res
	return res
}
