package identitygraph

import (
	"context"

	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// Bounds of a Sample.
const (
	SampleEvents      = 60  // event nodes at most
	SampleIdentifiers = 100 // identifier nodes of the entity at most
	SampleRefused     = 40  // refused values at most
)

// SampleInput is what a Sample is built from, read by the profile page.
type SampleInput struct {
	ID     string
	Rules  stitch.Config
	Links  []store.IdentifierLink // the entity's identifiers, at most SampleIdentifiers
	Merges []store.Merge
	Newest []store.Event // the newest events, to fill up with
	// EventsCount and IdentifiersCount are the entity's totals.
	EventsCount, IdentifiersCount int64
}

// Key is an identifier value of a category.
type Key struct {
	Category string `json:"category"`
	Value    string `json:"value"`
}

func (k Key) String() string { return k.Category + ":" + k.Value }

// Sample is a drawable part of the graph: a few events as nodes, the
// identifiers they carry, an edge per event and identifier.
type Sample struct {
	Events      []store.Event
	Identifiers []Identifier
	Edges       []Edge
	// MoreEvents and MoreIdentifiers say how many were left out.
	MoreEvents, MoreIdentifiers int64
}

// Identifier is an identifier node of a Sample.
type Identifier struct {
	Key
	// Refused is the guard rail that refused the value ("" for the
	// entity's own identifiers); Holder the entity holding it instead.
	Refused, Holder string
}

// Edge says that an event carries an identifier.
type Edge struct {
	Event int // index in Events
	Ident int // index in Identifiers
}

// refusedSeqsOf reads the entity's events that first carried a value the
// guard rails refused. When the newest events read are all of the
// entity's (most entities), only the audit is read, for their seqs: the
// entity's events need not be found again among every event (a scan of
// 10M entity ids on DuckDB's 10M store, about 70 ms of CPU).
func refusedSeqsOf(ctx context.Context, db Store, in SampleInput) ([]int64, error) {
	if in.EventsCount > int64(len(in.Newest)) {
		return db.ProfileRefusedSeqs(ctx, in.ID, SampleEvents)
	}
	seqs := make([]int64, len(in.Newest))
	for i, e := range in.Newest {
		seqs[i] = e.Seq
	}
	return db.ProfileRefusedAmong(ctx, seqs, SampleEvents)
}

// BuildSample chooses the events (those that linked an identifier first,
// caused a merge or carried a refused value, then the newest) and
// evaluates the rules over them for the edges.
func BuildSample(ctx context.Context, db Store, in SampleInput) (*Sample, error) {
	refusedSeqs, err := refusedSeqsOf(ctx, db, in)
	if err != nil {
		return nil, err
	}
	recorded, err := db.GraphRefused(ctx, in.ID, SampleRefused)
	if err != nil {
		return nil, err
	}
	reasons := map[Key]string{}
	for _, r := range recorded {
		refusedSeqs = append(refusedSeqs, r.Seq)
		reasons[Key{r.Category, r.Value}] = r.Reason
	}
	var seqs []int64
	seen := map[int64]bool{}
	add := func(s int64) {
		if !seen[s] && len(seqs) < SampleEvents {
			seen[s] = true
			seqs = append(seqs, s)
		}
	}
	for _, l := range in.Links {
		add(l.FirstSeq)
	}
	for _, m := range in.Merges {
		add(m.EventSeq)
	}
	for _, s := range refusedSeqs {
		add(s)
	}
	for _, e := range in.Newest {
		add(e.Seq)
	}
	g := &Sample{}
	if g.Events, err = db.ProfileEventsAt(ctx, seqs); err != nil {
		return nil, err
	}
	carried, err := db.ProfileEventIdentifiers(ctx, in.Rules.IdentifiersSQL, seqs)
	if err != nil {
		return nil, err
	}
	if err := g.link(ctx, db, in, carried, reasons); err != nil {
		return nil, err
	}
	g.MoreEvents = max(0, in.EventsCount-int64(len(g.Events)))
	g.MoreIdentifiers = max(0, in.IdentifiersCount-int64(len(in.Links)))
	return g, nil
}

// link adds the identifier nodes and the edges: an identifier of the
// entity is linked; a value carried by its events that it does not hold
// was refused (or never linked), and the store says why (reasons: the
// links the engine recorded as refused).
func (g *Sample) link(ctx context.Context, db Store, in SampleInput, carried []store.EventIdentifier, reasons map[Key]string) error {
	ident := map[Key]int{}
	for _, l := range in.Links {
		k := Key{l.Category, l.Value}
		ident[k] = len(g.Identifiers)
		g.Identifiers = append(g.Identifiers, Identifier{Key: k})
	}
	keys := make([]Key, len(carried))
	for i, c := range carried {
		keys[i] = Key{c.Category, c.Value}
	}
	held := func(k Key) bool { _, ok := ident[k]; return ok }
	refused, err := refusals(ctx, db, in.ID, held, keys, SampleRefused+SampleIdentifiers, SampleRefused, reasons)
	if err != nil {
		return err
	}
	for _, r := range refused {
		ident[r.Key] = len(g.Identifiers)
		g.Identifiers = append(g.Identifiers, r)
	}
	eventAt := map[string]int{}
	for i, e := range g.Events {
		eventAt[e.ID] = i
	}
	done := map[Edge]bool{}
	for _, c := range carried {
		i, ok := ident[Key{c.Category, c.Value}]
		ev, evOK := eventAt[c.EventID]
		if ok && evOK && !done[Edge{ev, i}] {
			done[Edge{ev, i}] = true
			g.Edges = append(g.Edges, Edge{ev, i})
		}
	}
	return nil
}

// notLinked is the reason of a value carried but held by no entity, with
// no guard rail on record.
const notLinked = "not linked"

// refusals explains values an entity's events carry: those it does not
// hold (held says which it does) were refused, and the store says why
// (recorded, the engine's stitch_refused, or else the guard-rail audit)
// and which entity holds each instead. It asks about the first ask
// distinct values and answers at most n; a value the store finds held by
// the entity itself (beyond the ones the caller knows) is skipped.
func refusals(ctx context.Context, db Store, id string, held func(Key) bool, carried []Key, ask, n int, recorded map[Key]string) ([]Identifier, error) {
	var cats, vals []string
	asked := map[Key]bool{}
	for _, k := range carried {
		if !held(k) && !asked[k] && len(cats) < ask {
			asked[k] = true
			cats, vals = append(cats, k.Category), append(vals, k.Value)
		}
	}
	states, err := db.ProfileLinkStates(ctx, cats, vals)
	if err != nil {
		return nil, err
	}
	var out []Identifier
	for _, s := range states {
		k := Key{s.Category, s.Value}
		if held(k) || s.EntityID == id || len(out) == n {
			continue
		}
		reason := recorded[k]
		if reason == "" {
			reason = s.Refused
		}
		if reason == "" {
			reason = notLinked
		}
		out = append(out, Identifier{Key: k, Refused: reason, Holder: s.EntityID})
	}
	return out, nil
}
