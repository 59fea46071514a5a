package customer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/object"
	"github.com/weftdata/weft/internal/store"
)

// DB is what customers are read from (a *store.DB).
type DB interface {
	CustomerPage(ctx context.Context, p *store.CustomerPageParams) ([]store.Entity, error)
	CustomerGet(ctx context.Context, ids []string) ([]store.Entity, error)
	CustomerFind(ctx context.Context, category string, values []string) (map[string]string, error)
	CustomerEvents(ctx context.Context, p *store.CustomerEventsParams) (map[string][]store.Event, error)
	AttributeValuesOf(ctx context.Context, ids []string) (map[string]map[string][]string, error)
	PropertyValuesOf(ctx context.Context, ids []string) (map[string]map[string]json.RawMessage, error)
	SegmentsOf(ctx context.Context, ids []string) (map[string][]string, error)
}

// ResolveFunc says what an entity id stands for now, as profile reads
// resolve it; store.ErrNotFound for an id that never existed.
type ResolveFunc func(ctx context.Context, id string) (*Resolved, error)

// Resolved is an entity id resolved: the live entity it is or was merged
// into, or, for an id that split, the parts it split into and the live
// entities those are now.
type Resolved struct {
	Live      string
	SplitInto []string
	Parts     []string
}

// Params are what a GraphQL reads besides the database: the config in
// force.
type Params struct {
	Attributes []attr.Definition
	// Segments are the ids of the segments in force.
	Segments []string
	// Categories are the identifier categories the stitching rules read.
	Categories []string
	Resolve    ResolveFunc
}

// GraphQL is the customers' part of the GraphQL schema, under one config.
type GraphQL struct {
	db         DB
	attrs      []attr.Definition
	segments   []string
	categories []string
	resolve    ResolveFunc
}

var _ object.GraphQLExtension = (*GraphQL)(nil)

// New returns the customers' GraphQL over db under the config p holds.
func New(db DB, p Params) *GraphQL {
	return &GraphQL{db: db, attrs: p.Attributes, segments: p.Segments, categories: p.Categories, resolve: p.Resolve}
}

// Root returns the query fields customer and customers.
func (g *GraphQL) Root(ctx context.Context) map[string]any {
	return map[string]any{
		"customer": object.Resolver(func(args map[string]any) (any, error) {
			id, _ := args["identifier"].(string)
			return g.customer(ctx, id)
		}),
		"customers": object.Resolver(func(args map[string]any) (any, error) { return g.customers(ctx, args) }),
	}
}

func inputErrorf(format string, args ...any) error {
	return &object.InputError{Msg: fmt.Sprintf(format, args...)}
}

// customer answers customer(identifier:).
func (g *GraphQL) customer(ctx context.Context, ident string) (any, error) {
	cat, val, isIdent := strings.Cut(ident, ":")
	switch {
	case strings.ContainsRune(ident, 0) || !utf8.ValidString(ident):
		// PostgreSQL refuses NUL in text: a caller's mistake, not a fault.
		return nil, inputErrorf("identifier %s holds a NUL character or invalid UTF-8", clip.Quote(ident))
	case strings.TrimSpace(ident) == "":
		return nil, inputErrorf("identifier is empty: pass category:value (categories: %s) or an entity id", g.categoryList())
	case isIdent && !slices.Contains(g.categories, cat):
		return nil, inputErrorf("identifier %s: %s is not an identifier category (categories: %s)", clip.Quote(ident), clip.Quote(cat), g.categoryList())
	case isIdent && val == "":
		return nil, inputErrorf("identifier %s has an empty value: pass category:value", clip.Quote(ident))
	case isIdent:
		found, err := g.Customers(ctx, cat, []string{val})
		return found[val], err
	}
	res, err := g.resolve(ctx, ident)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if res.SplitInto != nil {
		return g.split(ctx, ident, res)
	}
	nodes, err := g.nodes(ctx, []string{res.Live})
	if err != nil || len(nodes) == 0 {
		return nil, err
	}
	if res.Live != ident {
		nodes[0]["merged_from"] = ident
	}
	return nodes[0], nil
}

func (g *GraphQL) categoryList() string {
	if len(g.categories) == 0 {
		return "none: no stitching rule reads an identifier"
	}
	return strings.Join(g.categories, ", ")
}

// split is the Customer of an id that split: its parts.
func (g *GraphQL) split(ctx context.Context, id string, res *Resolved) (any, error) {
	nodes, err := g.nodes(ctx, res.Parts)
	if err != nil {
		return nil, err
	}
	into := make([]any, len(res.SplitInto))
	for i, p := range res.SplitInto {
		into[i] = p
	}
	list := make([]any, len(nodes))
	for i, n := range nodes {
		list[i] = n
	}
	return map[string]any{"id": id, "split_into": into, "parts": list}, nil
}

// Customers resolves customer references: the customers holding the
// identifiers values of category, in a handful of queries.
func (g *GraphQL) Customers(ctx context.Context, category string, values []string) (map[string]any, error) {
	live, err := g.db.CustomerFind(ctx, category, values)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(live))
	for _, id := range live {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	nodes, err := g.nodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]any, len(nodes))
	for _, n := range nodes {
		byID[n["id"].(string)] = n
	}
	out := make(map[string]any, len(live))
	for v, id := range live {
		if n, ok := byID[id]; ok {
			out[v] = n
		}
	}
	return out, nil
}

// nodes reads the profiles of live entities, sorted by id, as Customer
// values sharing one page.
func (g *GraphQL) nodes(ctx context.Context, ids []string) ([]map[string]any, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	es, err := g.db.CustomerGet(ctx, ids)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(es, func(a, b store.Entity) int { return strings.Compare(a.ID, b.ID) })
	return newPage(ctx, g, es).nodes, nil
}

// customers answers customers(first:, after:, segment:).
func (g *GraphQL) customers(ctx context.Context, args map[string]any) (any, error) {
	first, err := object.FirstArg(args)
	if err != nil {
		return nil, err
	}
	p := &store.CustomerPageParams{Limit: first + 1}
	if after, _ := args["after"].(string); after != "" {
		if p.After, err = decodeCursor("customer", after); err != nil {
			return nil, err
		}
	}
	if seg, _ := args["segment"].(string); seg != "" {
		if !slices.Contains(g.segments, seg) {
			return nil, inputErrorf("segment %s is not a segment of the config in force (segments: %s)", clip.Quote(seg), strings.Join(g.segments, ", "))
		}
		p.Segment = seg
	}
	es, err := g.db.CustomerPage(ctx, p)
	if err != nil {
		return nil, err
	}
	more := len(es) > first
	if more {
		es = es[:first]
	}
	pg := newPage(ctx, g, es)
	cursors := make([]string, len(es))
	for i, e := range es {
		cursors[i] = encodeCursor("customer", e.ID)
	}
	return connection(cursors, pg.nodes, more), nil
}

// connection is a Relay connection of nodes.
func connection[T any](cursors []string, nodes []T, hasNext bool) map[string]any {
	edges := make([]any, len(nodes))
	for i, n := range nodes {
		edges[i] = map[string]any{"cursor": cursors[i], "node": n}
	}
	info := map[string]any{"hasNextPage": hasNext, "hasPreviousPage": false, "startCursor": nil, "endCursor": nil}
	if len(cursors) > 0 {
		info["startCursor"], info["endCursor"] = cursors[0], cursors[len(cursors)-1]
	}
	return map[string]any{"edges": edges, "pageInfo": info}
}

// Cursors are opaque: a kind and a position, base64.
func encodeCursor(kind, pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + pos))
}

func decodeCursor(kind, s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	pos, ok := strings.CutPrefix(string(b), kind+":")
	if err != nil || !ok || pos == "" || strings.ContainsRune(pos, 0) || !utf8.ValidString(pos) {
		return "", inputErrorf("after %s is not a cursor of %ss: pass an end cursor or edge cursor from an earlier page", clip.Quote(s), kind)
	}
	return pos, nil
}

func seqCursor(seq int64) string { return encodeCursor("event", strconv.FormatInt(seq, 10)) }
