package customer

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/weftdata/weft/internal/object"
	"github.com/weftdata/weft/internal/store"
)

// page is customers read together: each part of their profiles
// (attributes, properties, segments, a page of events) is read for all of
// them with one query, when a node first selects it.
type page struct {
	ctx   context.Context
	g     *GraphQL
	ids   []string
	nodes []map[string]any

	attrs  loaded[map[string]map[string][]string]
	props  loaded[map[string]map[string]json.RawMessage]
	segs   loaded[map[string][]string]
	events map[eventsKey]*loaded[map[string][]store.Event]
}

// loaded is a value read once; the executor resolves fields one at a
// time, so no lock is needed.
type loaded[T any] struct {
	done bool
	v    T
	err  error
}

func (l *loaded[T]) get(read func() (T, error)) (T, error) {
	if !l.done {
		l.v, l.err = read()
		l.done = true
	}
	return l.v, l.err
}

// eventsKey is the arguments of an events field.
type eventsKey struct {
	first  int
	before int64
}

func newPage(ctx context.Context, g *GraphQL, es []store.Entity) *page {
	p := &page{ctx: ctx, g: g, events: map[eventsKey]*loaded[map[string][]store.Event]{}}
	for i := range es {
		p.ids = append(p.ids, es[i].ID)
		p.nodes = append(p.nodes, p.node(&es[i]))
	}
	return p
}

// node is a Customer value.
func (p *page) node(e *store.Entity) map[string]any {
	id := e.ID
	n := map[string]any{
		"id":           id,
		"events_count": e.EventsCount,
		"created_at":   e.CreatedAt,
		"modified_at":  e.ModifiedAt,
		"identifiers": object.Resolver(func(args map[string]any) (any, error) {
			return identifiers(e.Identifiers, args), nil
		}),
		"attributes": object.Resolver(func(map[string]any) (any, error) { return p.attributes(id) }),
		"properties": object.Resolver(func(args map[string]any) (any, error) { return p.properties(id, args) }),
		"segments":   object.Resolver(func(map[string]any) (any, error) { return p.segments(id) }),
		"events":     object.Resolver(func(args map[string]any) (any, error) { return p.eventPage(id, args) }),
	}
	if e.FirstEventTime != nil {
		n["first_event_time"] = *e.FirstEventTime
	}
	if e.LastEventTime != nil {
		n["last_event_time"] = *e.LastEventTime
	}
	return n
}

// identifiers lists an entity's identifiers, by category, of one
// category when args has one.
func identifiers(byCat map[string][]string, args map[string]any) []any {
	cats := make([]string, 0, len(byCat))
	for c := range byCat {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	only, _ := args["category"].(string)
	out := []any{}
	for _, c := range cats {
		if only != "" && c != only {
			continue
		}
		for _, v := range byCat[c] {
			out = append(out, map[string]any{"category": c, "value": v})
		}
	}
	return out
}

// attributes is a CustomerAttributes value: every attribute in force,
// typed by its definition, null when the customer has no value.
func (p *page) attributes(id string) (any, error) {
	all, err := p.attrs.get(func() (map[string]map[string][]string, error) { return p.g.db.AttributeValuesOf(p.ctx, p.ids) })
	if err != nil {
		return nil, err
	}
	defined := make([]any, len(p.g.attrs))
	out := map[string]any{"_defined": defined}
	raw := all[id]
	for i := range p.g.attrs {
		d := &p.g.attrs[i]
		defined[i] = d.ID
		vs, ok := raw[d.ID]
		if !ok || len(vs) == 0 {
			continue
		}
		if d.SingleValued() {
			out[d.ID] = d.JSONValue(vs[0])
			continue
		}
		list := make([]any, len(vs))
		for j, v := range vs {
			list[j] = d.JSONValue(v)
		}
		out[d.ID] = list
	}
	return out, nil
}

// properties lists the customer's published plugin properties by id, of
// one plugin when args has one.
func (p *page) properties(id string, args map[string]any) (any, error) {
	all, err := p.props.get(func() (map[string]map[string]json.RawMessage, error) { return p.g.db.PropertyValuesOf(p.ctx, p.ids) })
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(all[id]))
	for prop := range all[id] {
		ids = append(ids, prop)
	}
	slices.Sort(ids)
	only, _ := args["plugin"].(string)
	out := []any{}
	for _, prop := range ids {
		parts := strings.SplitN(prop, "/", 3) // plugin/run/name (see plugin.PropertyPrefix)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		if only != "" && parts[0] != only {
			continue
		}
		out = append(out, map[string]any{"id": prop, "plugin": parts[0], "run_id": parts[1], "name": parts[2], "value": all[id][prop]})
	}
	return out, nil
}

// segments lists the segments in force the customer is a member of.
func (p *page) segments(id string) (any, error) {
	all, err := p.segs.get(func() (map[string][]string, error) { return p.g.db.SegmentsOf(p.ctx, p.ids) })
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, s := range all[id] {
		if slices.Contains(p.g.segments, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// eventPage is a page of the customer's events, newest first; the pages
// of every customer of the page are read with one query.
func (p *page) eventPage(id string, args map[string]any) (any, error) {
	first, err := object.FirstArg(args)
	if err != nil {
		return nil, err
	}
	key := eventsKey{first: first}
	if after, _ := args["after"].(string); after != "" {
		pos, err := decodeCursor("event", after)
		if err == nil {
			key.before, err = strconv.ParseInt(pos, 10, 64)
		}
		if err != nil || key.before <= 0 {
			return nil, inputErrorf("after %q is not a cursor of events: pass an end cursor or edge cursor from an earlier page", after)
		}
	}
	l := p.events[key]
	if l == nil {
		l = &loaded[map[string][]store.Event]{}
		p.events[key] = l
	}
	all, err := l.get(func() (map[string][]store.Event, error) {
		return p.g.db.CustomerEvents(p.ctx, &store.CustomerEventsParams{IDs: p.ids, BeforeSeq: key.before, Limit: first + 1})
	})
	if err != nil {
		return nil, err
	}
	evs := all[id]
	more := len(evs) > first
	if more {
		evs = evs[:first]
	}
	cursors := make([]string, len(evs))
	nodes := make([]map[string]any, len(evs))
	for i, e := range evs {
		cursors[i] = seqCursor(e.Seq)
		nodes[i] = eventNode(e)
	}
	return connection(cursors, nodes, more), nil
}

func eventNode(e store.Event) map[string]any {
	var payload any
	if len(e.Payload) > 0 {
		payload = json.RawMessage(e.Payload)
	}
	return map[string]any{"seq": e.Seq, "id": e.ID, "source_id": e.SourceID, "type": e.Type, "version": e.Version,
		"event_time": e.EventTime, "payload": payload, "created_at": e.CreatedAt}
}
