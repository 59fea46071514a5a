package identitygraph

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// Bounds of a Graph: a bigger entity is read in part and its graph says
// Truncated.
const (
	// EventsMax is how many events (the first by seq) the rules are
	// evaluated over: 20,000 events of a shared device took 0.6-0.8 s on
	// either backend (2 cores, under load), 5,000 keeps the answer near
	// the 300 ms of the largest demo entity.
	EventsMax      = 5_000
	IdentifiersMax = 500   // identifiers listed
	RefusedMax     = 200   // refused links listed
	LinksMax       = 1_000 // links listed
	EventIDsMax    = 3     // event ids given per identifier
	// ChainIdentifiersMax bounds the identifiers a chain may pass through.
	ChainIdentifiersMax = 100_000
)

// Graph is the identity graph of an entity.
type Graph struct {
	EntityID string `json:"entity_id"`
	// EventsCount is the entity's number of events; EventsRead how many
	// of them the graph was built from.
	EventsCount int64 `json:"events_count"`
	EventsRead  int   `json:"events_read"`
	// Identifiers are the entity's identifiers, each with the events that
	// carry it, in the order they were linked.
	Identifiers []Node `json:"identifiers"`
	// Links say which rule linked an identifier through which events.
	Links []Link `json:"links"`
	// Refused are the values the entity's events carry that it does not
	// hold, and why.
	Refused []Refused `json:"refused"`
	// Truncated: some events, identifiers, links or refused links were
	// left out (see the bounds).
	Truncated bool `json:"truncated"`
}

// Node is an identifier of the entity with its events.
type Node struct {
	Key
	Events Summary `json:"events"`
}

// Summary summarises the events that carry an identifier.
type Summary struct {
	Count int        `json:"count"`
	First *time.Time `json:"first_event_time"`
	Last  *time.Time `json:"last_event_time"`
	// IDs are the ids of the first few events (by seq).
	IDs []string `json:"ids"`
}

// Link is the link of an identifier to the entity through one stitching
// rule: the rule (its index in stitching.rules, and what it reads), the
// number of events it linked through it and the first of them.
type Link struct {
	Key
	Rule       int      `json:"rule"`
	RuleEvent  string   `json:"rule_event"`
	Events     int      `json:"events"`
	FirstEvent EventRef `json:"first_event"`
}

// EventRef names an event.
type EventRef struct {
	ID   string    `json:"id"`
	Seq  int64     `json:"seq"`
	Type string    `json:"type"`
	Time time.Time `json:"event_time"`
}

// Refused is a value an event of the entity carries that the entity does
// not hold: the guard rail or split that refused the link (max_per_entity,
// manual_split, ambiguous, blocked; "not linked" when none is on record) and the
// entity holding the value instead, if any.
type Refused struct {
	Key
	Reason string    `json:"reason"`
	Event  *EventRef `json:"event,omitempty"`
	HeldBy string    `json:"held_by,omitempty"`
}

// Read builds the graph of a live entity with eventsCount events under the
// rules in force.
func Read(ctx context.Context, db Store, id string, eventsCount int64, rules stitch.Config) (*Graph, error) {
	r, err := read(ctx, db, id, rules, IdentifiersMax)
	if err != nil {
		return nil, err
	}
	g := &Graph{EntityID: id, EventsCount: eventsCount, EventsRead: int(min(eventsCount, EventsMax)),
		Identifiers: []Node{}, Links: []Link{}, Refused: []Refused{}}
	g.Truncated = eventsCount > EventsMax || r.moreHeld
	g.nodes(r)
	g.links(r, rules)
	if err := g.refused(ctx, db, r); err != nil {
		return nil, err
	}
	return g, nil
}

// reading is what Read and Chain read: the entity's identifiers and the
// identifiers its events carry.
type reading struct {
	id       string
	held     []Key
	isHeld   map[Key]bool
	moreHeld bool
	rows     []store.GraphRow // by seq
}

// read reads up to identifiers identifiers of the entity and the rows of
// its first EventsMax events.
func read(ctx context.Context, db Store, id string, rules stitch.Config, identifiers int) (*reading, error) {
	links, err := db.ProfileIdentifierLinks(ctx, id, identifiers+1)
	if err != nil {
		return nil, err
	}
	r := &reading{id: id, isHeld: map[Key]bool{}, moreHeld: len(links) > identifiers}
	for _, l := range links[:min(len(links), identifiers)] {
		k := Key{l.Category, l.Value}
		r.held = append(r.held, k)
		r.isHeld[k] = true
	}
	if r.rows, err = db.GraphEventIdentifiers(ctx, rulesSQL(rules), id, EventsMax); err != nil {
		return nil, err
	}
	sort.Slice(r.rows, func(i, j int) bool {
		a, b := r.rows[i], r.rows[j]
		return a.Seq < b.Seq || a.Seq == b.Seq && (a.Rule < b.Rule || a.Rule == b.Rule && a.Value < b.Value)
	})
	return r, nil
}

// rulesSQL is the query of GraphRow: each rule's identifiers (as
// stitch.Config.IdentifiersSQL reads them) with the rule's index and the
// event's seq, type and time.
func rulesSQL(rules stitch.Config) func(from string) (string, error) {
	return func(from string) (string, error) {
		if len(rules.Rules) == 0 {
			return "", nil
		}
		parts := make([]string, len(rules.Rules))
		for i, rule := range rules.Rules {
			q, err := stitch.Config{Rules: []stitch.Rule{rule}}.IdentifiersSQL("ev")
			if err != nil {
				return "", fmt.Errorf("stitching.rules[%d]: %w", i, err)
			}
			parts[i] = fmt.Sprintf("SELECT %d AS rule, id, category, value FROM (%s) r%d", i, q, i)
		}
		return fmt.Sprintf("WITH ev AS %s\nSELECT c.rule, ev.seq, ev.id, ev.type, ev.event_time, c.category, c.value\nFROM (%s) c JOIN ev ON ev.id = c.id",
			from, strings.Join(parts, "\nUNION ALL\n")), nil
	}
}

// nodes summarises the events of each identifier of the entity.
func (g *Graph) nodes(r *reading) {
	at := map[Key]int{}
	for _, k := range r.held {
		at[k] = len(g.Identifiers)
		g.Identifiers = append(g.Identifiers, Node{Key: k, Events: Summary{IDs: []string{}}})
	}
	counted := map[Key]int64{} // the last seq counted: an event may carry a value under two rules
	for _, row := range r.rows {
		k := Key{row.Category, row.Value}
		i, ok := at[k]
		if !ok || counted[k] == row.Seq {
			continue
		}
		counted[k] = row.Seq
		s := &g.Identifiers[i].Events
		s.Count++
		t := row.EventTime
		if s.First == nil || t.Before(*s.First) {
			s.First = &t
		}
		if s.Last == nil || t.After(*s.Last) {
			s.Last = &t
		}
		if len(s.IDs) < EventIDsMax {
			s.IDs = append(s.IDs, row.EventID)
		}
	}
}

// links groups the rows of held identifiers by identifier and rule.
func (g *Graph) links(r *reading, rules stitch.Config) {
	type lk struct {
		Key
		rule int
	}
	at := map[lk]int{}
	for _, row := range r.rows {
		k := Key{row.Category, row.Value}
		if !r.isHeld[k] {
			continue
		}
		i, ok := at[lk{k, row.Rule}]
		if !ok {
			if len(g.Links) == LinksMax {
				g.Truncated = true
				continue
			}
			i = len(g.Links)
			at[lk{k, row.Rule}] = i
			g.Links = append(g.Links, Link{Key: k, Rule: row.Rule, RuleEvent: rules.Rules[row.Rule].Event, FirstEvent: ref(row)})
		}
		g.Links[i].Events++
	}
}

func ref(row store.GraphRow) EventRef {
	return EventRef{ID: row.EventID, Seq: row.Seq, Type: row.Type, Time: row.EventTime}
}

// refused lists the refused links: those the engine recorded, then the
// values carried but not held that it did not record, explained by the
// identifier index and the guard-rail audit.
func (g *Graph) refused(ctx context.Context, db Store, r *reading) error {
	recorded, err := db.GraphRefused(ctx, r.id, RefusedMax+1)
	if err != nil {
		return err
	}
	known := map[Key]bool{}
	var keys []Key
	for _, x := range recorded {
		if k := (Key{x.Category, x.Value}); !known[k] {
			known[k] = true
			keys = append(keys, k)
		}
	}
	// Who holds the values recorded refused, as for the others below.
	holders := map[Key]string{}
	found, err := refusals(ctx, db, r.id, func(k Key) bool { return r.isHeld[k] }, keys, len(keys), len(keys), nil)
	if err != nil {
		return err
	}
	for _, f := range found {
		holders[f.Key] = f.Holder
	}
	clear(known)
	for _, x := range recorded {
		k := Key{x.Category, x.Value}
		if known[k] {
			continue
		}
		known[k] = true
		e := EventRef{ID: x.EventID, Seq: x.Seq, Type: x.Type, Time: x.EventTime}
		g.Refused = append(g.Refused, Refused{Key: k, Reason: x.Reason, Event: &e, HeldBy: holders[k]})
	}
	first := map[Key]store.GraphRow{}
	var carried []Key
	for _, row := range r.rows {
		k := Key{row.Category, row.Value}
		if _, ok := first[k]; !ok {
			first[k] = row
			carried = append(carried, k)
		}
	}
	room := RefusedMax - len(g.Refused)
	held := func(k Key) bool { return r.isHeld[k] || known[k] }
	more, err := refusals(ctx, db, r.id, held, carried, room+IdentifiersMax, room+1, nil)
	if err != nil {
		return err
	}
	for _, m := range more {
		e := ref(first[m.Key])
		g.Refused = append(g.Refused, Refused{Key: m.Key, Reason: m.Refused, Event: &e, HeldBy: m.Holder})
	}
	if len(g.Refused) > RefusedMax {
		g.Refused, g.Truncated = g.Refused[:RefusedMax], true
	}
	return nil
}
