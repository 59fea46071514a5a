package object

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"
)

// graphQLSchema is a Schema's GraphQL schemas, built on first use: the
// object types' alone, and with the latest extension's SDL (which follows
// the same config, so it rarely changes while the Schema is in force).
type graphQLSchema struct {
	mu     sync.Mutex
	ext    string // the extension SDL schema was built with
	schema *ast.Schema
	err    error
	built  bool
}

// GraphQL returns the schema's GraphQL schema.
func (s *Schema) GraphQL() (*ast.Schema, error) { return s.graphQL(nil) }

// graphQL returns the GraphQL schema of the types and of ext (nil: none).
func (s *Schema) graphQL(ext GraphQLExtension) (*ast.Schema, error) {
	extSDL := ""
	if ext != nil {
		taken := make(map[string]bool, len(s.byName))
		for n := range s.byName {
			taken[n] = true
		}
		extSDL = ext.SDL(taken)
	}
	g := s.gql
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.built && g.ext == extSDL {
		return g.schema, g.err
	}
	sources := []*ast.Source{{Name: "objects.graphql", Input: s.sdl(ext != nil)}}
	if ext != nil {
		sources = append(sources, &ast.Source{Name: "extension.graphql", Input: extSDL})
	}
	g.schema, g.err = gqlparser.LoadSchema(sources...)
	g.ext, g.built = extSDL, true
	return g.schema, g.err
}

// GraphQLExtension adds query fields to the GraphQL schema of the object
// types (package customer adds the customers), and resolves the fields
// that reference customers (Field.Customer).
type GraphQLExtension interface {
	// SDL is GraphQL schema text: its types, a type Customer, and its
	// query fields in "extend type Query { ... }", leaving out those
	// taken by object types (their query fields keep answering as
	// before). The schema is rebuilt when it changes.
	SDL(taken map[string]bool) string
	// Root returns the values of its query fields for one request
	// (Resolvers, most often); a field an object type answers keeps the
	// object type's.
	Root(ctx context.Context) map[string]any
	// Customers returns the Customer values of the customers holding
	// identifiers of one category, value → customer, values no customer
	// holds left out; it is called once per field of a page.
	Customers(ctx context.Context, category string, values []string) (map[string]any, error)
}

var graphQLTypes = map[string]string{
	FieldString:    "String",
	FieldNumber:    "Float",
	FieldTimestamp: "Timestamp",
	FieldBoolean:   "Boolean",
}

// SDL is the GraphQL schema of the types: per type a query field of its
// name returning a Relay connection (<name>Connection, <name>Edge, and the
// node type <name>), with first, after and an equality argument per
// primary field.
func (s *Schema) SDL() string { return s.sdl(false) }

// sdl is SDL, with the fields resolving customer references when
// customers is set (an extension declares type Customer).
func (s *Schema) sdl(customers bool) string {
	var b strings.Builder
	b.WriteString(`"An ISO-8601 date and time in UTC, with up to microseconds."
scalar Timestamp

"Where a page of a connection ends."
type PageInfo {
  hasNextPage: Boolean!
  "Always false: connections page forward only."
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type Query {
  "The names of the declared object types."
  _types: [String!]!
`)
	for _, t := range s.types {
		desc := t.Description
		if desc == "" {
			desc = t.DisplayName
		}
		if desc == "" {
			desc = "Records of " + t.Name
		}
		fmt.Fprintf(&b, "  %s\n  %s(\n    \"Page size, 0 to %d.\"\n    first: Int = %d\n    \"A cursor: the page starts after its record.\"\n    after: String\n",
			quote(desc+", in primary key order."), t.Name, FirstMax, FirstDefault)
		for _, j := range t.primary() {
			fmt.Fprintf(&b, "    \"Only the records whose %s equals this.\"\n    %s: String\n", t.Fields[j].Name, t.Fields[j].Name)
		}
		fmt.Fprintf(&b, "  ): %sConnection\n", t.Name)
	}
	b.WriteString("}\n")
	for _, t := range s.types {
		fmt.Fprintf(&b, "\ntype %[1]sConnection {\n  edges: [%[1]sEdge!]!\n  pageInfo: PageInfo!\n}\n", t.Name)
		fmt.Fprintf(&b, "\ntype %[1]sEdge {\n  cursor: String!\n  node: %[1]s!\n}\n", t.Name)
		if t.DisplayName != "" {
			fmt.Fprintf(&b, "\n%s", quote(t.DisplayName))
		}
		fmt.Fprintf(&b, "\ntype %s {\n", t.Name)
		for _, f := range t.Fields {
			if d := fieldDescription(f); d != "" {
				fmt.Fprintf(&b, "  %s\n", quote(d))
			}
			nonNull := ""
			if f.Primary {
				nonNull = "!"
			}
			fmt.Fprintf(&b, "  %s: %s%s\n", f.Name, graphQLTypes[f.Type], nonNull)
			if customers && f.Customer != "" {
				fmt.Fprintf(&b, "  %s\n  %s%s: Customer\n", quote("The customer whose "+f.Customer+" identifier is "+f.Name+"."), f.Name, CustomerSuffix)
			}
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func fieldDescription(f Field) string {
	switch {
	case f.DisplayName != "" && f.Description != "":
		return f.DisplayName + ": " + f.Description
	case f.DisplayName != "":
		return f.DisplayName
	}
	return f.Description
}

// quote writes a GraphQL string; JSON's escapes are GraphQL's.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// GraphQLRequest is the body of POST /v1/graphql.
type GraphQLRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName,omitempty"`
	Variables     map[string]any `json:"variables,omitempty"`
}

// GraphQLResponse is a GraphQL answer: Data is absent when the request
// failed before execution (parse and validation errors).
type GraphQLResponse struct {
	Data   *outObject    `json:"data,omitempty"`
	Errors gqlerror.List `json:"errors,omitempty"`
}

// GraphQL answers a query over the types in force. The error is a
// *QueryLimitError for a query over a limit (see GraphQLDepthMax and the
// others), else the store failing to say which types are in force;
// everything else is in the response.
func (s *Store) GraphQL(ctx context.Context, req *GraphQLRequest) (*GraphQLResponse, error) {
	return s.GraphQLWith(ctx, req, nil)
}

// GraphQLWith is GraphQL over the types in force and the query fields of
// ext (nil: none).
func (s *Store) GraphQLWith(ctx context.Context, req *GraphQLRequest, ext GraphQLExtension) (*GraphQLResponse, error) {
	sch, err := s.schema(ctx)
	if err != nil {
		return nil, err
	}
	gs, err := sch.graphQL(ext)
	if err != nil {
		return nil, fmt.Errorf("graphql schema of the object types: %w", err)
	}
	if strings.TrimSpace(req.Query) == "" {
		return &GraphQLResponse{Errors: gqlerror.List{gqlerror.Errorf("the request has no query")}}, nil
	}
	doc, err := parseQuery(req.Query)
	var limit *QueryLimitError
	if errors.As(err, &limit) {
		return nil, err
	}
	if err != nil {
		return failed("GRAPHQL_PARSE_FAILED", err), nil
	}
	if err := checkLimits(gs, doc, req.Variables); err != nil {
		return nil, err
	}
	if errs := validator.ValidateWithRules(gs, doc, nil); len(errs) > 0 {
		for _, e := range errs {
			e.Extensions = map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}
		}
		return &GraphQLResponse{Errors: errs}, nil
	}
	op, err := operation(doc, req.OperationName)
	if err != nil {
		return failed("OPERATION_RESOLUTION_FAILURE", err), nil
	}
	vars, err := validator.VariableValues(gs, op, req.Variables)
	if err != nil {
		return failed("BAD_USER_INPUT", err), nil
	}
	x := &executor{ctx: ctx, store: s, schema: gs, doc: doc, vars: vars, ext: ext}
	data := x.selectObject(gs.Query, op.SelectionSet, x.root(sch), nil)
	return &GraphQLResponse{Data: data, Errors: x.errs}, nil
}

// failed is an answer to a request that failed before execution.
func failed(code string, err error) *GraphQLResponse {
	e := &gqlerror.Error{}
	if !errors.As(err, &e) {
		e = gqlerror.Wrap(err)
	}
	e.Extensions = map[string]any{"code": code}
	return &GraphQLResponse{Errors: gqlerror.List{e}}
}

func operation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name != "" {
		if op := doc.Operations.ForName(name); op != nil {
			return op, nil
		}
		return nil, fmt.Errorf("the document has no operation named %q", name)
	}
	if len(doc.Operations) != 1 {
		return nil, fmt.Errorf("the document has %d operations: say which to run in operationName", len(doc.Operations))
	}
	return doc.Operations[0], nil
}

// Resolver computes a field's value from its arguments.
type Resolver func(args map[string]any) (any, error)

// executor walks a selection set over a tree of values: map[string]any
// for objects (a value may be a Resolver), []any for lists, and scalars.
type executor struct {
	ctx    context.Context
	store  *Store
	schema *ast.Schema
	doc    *ast.QueryDocument
	vars   map[string]any
	errs   gqlerror.List
	ext    GraphQLExtension // nil: none
}

func (x *executor) root(sch *Schema) map[string]any {
	names := make([]any, len(sch.types))
	root := map[string]any{"_types": names}
	if x.ext != nil {
		maps.Copy(root, x.ext.Root(x.ctx))
	}
	for i := range sch.types {
		t := sch.byName[sch.types[i].Name]
		names[i] = t.Name
		root[t.Name] = Resolver(func(args map[string]any) (any, error) { return x.connection(t, args) })
	}
	in := &introspection{schema: x.schema, types: map[string]map[string]any{}}
	root["__schema"] = Resolver(func(map[string]any) (any, error) { return in.schemaValue(), nil })
	root["__type"] = Resolver(func(args map[string]any) (any, error) {
		name, _ := args["name"].(string)
		if x.schema.Types[name] == nil {
			return nil, nil
		}
		return in.named(name), nil
	})
	return root
}

// connection runs a page query for the query field of a type.
func (x *executor) connection(t *table, args map[string]any) (any, error) {
	first, err := FirstArg(args)
	if err != nil {
		return nil, err
	}
	p := ListParams{First: first, Equal: map[string]string{}}
	p.After, _ = args["after"].(string)
	for _, j := range t.primary {
		if v, ok := args[t.Fields[j].Name].(string); ok {
			p.Equal[t.Fields[j].Name] = v
		}
	}
	page, err := x.store.List(x.ctx, t.Name, p)
	if err != nil {
		return nil, err
	}
	edges := make([]any, len(page.Records))
	for i, r := range page.Records {
		node := make(map[string]any, len(t.Fields))
		for j, f := range t.Fields {
			node[f.Name] = r.values[j]
		}
		edges[i] = map[string]any{"cursor": r.cursor, "node": node}
	}
	x.references(t, page.Records, edges)
	info := map[string]any{"hasNextPage": page.HasNextPage, "hasPreviousPage": false, "startCursor": nil, "endCursor": nil}
	if len(page.Records) > 0 {
		info["startCursor"] = page.Records[0].cursor
		info["endCursor"] = page.EndCursor
	}
	return map[string]any{"edges": edges, "pageInfo": info}, nil
}

// references sets, in the nodes of edges, the fields resolving the
// customer references of records: one Customers call per field of the
// page, made when the field is first selected.
func (x *executor) references(t *table, records []Record, edges []any) {
	if x.ext == nil {
		return
	}
	for j, f := range t.Fields {
		if f.Customer == "" {
			continue
		}
		var values []string
		for _, r := range records {
			if v, ok := r.values[j].(string); ok {
				values = append(values, v)
			}
		}
		var found map[string]any
		var loadErr error
		loaded := false
		for i, r := range records {
			v, ok := r.values[j].(string)
			if !ok {
				continue
			}
			edges[i].(map[string]any)["node"].(map[string]any)[f.Name+CustomerSuffix] = Resolver(func(map[string]any) (any, error) {
				if !loaded {
					found, loadErr = x.ext.Customers(x.ctx, f.Customer, values)
					loaded = true
				}
				return found[v], loadErr
			})
		}
	}
}

// FirstArg is the page size a connection field's first argument asks
// for: FirstDefault when unset, an *InputError when not from 0 to
// FirstMax.
func FirstArg(args map[string]any) (int, error) {
	v, ok := args["first"]
	if !ok || v == nil {
		return FirstDefault, nil
	}
	n, ok := intArg(v)
	if !ok {
		return 0, fmt.Errorf("first must be an integer, got %v", v)
	}
	if n < 0 || n > FirstMax {
		return 0, inputErrorf("first must be from 0 to %d, got %d", FirstMax, n)
	}
	return n, nil
}

func intArg(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		return int(v), v == int64(int(v))
	case float64:
		return int(v), v == float64(int(v))
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	}
	return 0, false
}

// outObject is a response object: keys in selection order.
type outObject struct {
	keys []string
	vals []any
}

func (o *outObject) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// Get returns the value of a key (tests read answers through it).
func (o *outObject) Get(key string) any {
	for i, k := range o.keys {
		if k == key {
			return o.vals[i]
		}
	}
	return nil
}

// fieldGroup is the fields of a selection set that share a response key.
type fieldGroup struct {
	key    string
	fields []*ast.Field
}

func (x *executor) selectObject(def *ast.Definition, set ast.SelectionSet, src map[string]any, path ast.Path) *outObject {
	var groups []*fieldGroup
	x.collect(def, set, map[string]*fieldGroup{}, &groups, map[string]bool{})
	out := &outObject{}
	for _, g := range groups {
		f := g.fields[0]
		fpath := append(append(ast.Path{}, path...), ast.PathName(g.key))
		var v any
		if f.Name == "__typename" {
			v = def.Name
		} else {
			v = x.resolve(f, src[f.Name], fpath)
			if v != nil {
				v = x.complete(f.Definition.Type, g.fields, v, fpath)
			}
		}
		out.keys = append(out.keys, g.key)
		out.vals = append(out.vals, v)
	}
	return out
}

// resolve calls a resolver; its error becomes a field error and null.
func (x *executor) resolve(f *ast.Field, v any, path ast.Path) (out any) {
	r, ok := v.(Resolver)
	if !ok {
		return v
	}
	defer func() {
		if p := recover(); p != nil { // ArgumentMap panics on values validation let through
			x.fieldError(f, path, fmt.Errorf("%v", p))
			out = nil
		}
	}()
	v, err := r(f.ArgumentMap(x.vars))
	if err != nil {
		x.fieldError(f, path, err)
		return nil
	}
	return v
}

func (x *executor) fieldError(f *ast.Field, path ast.Path, err error) {
	e := &gqlerror.Error{Err: err, Message: err.Error(), Path: path}
	if f.Position != nil {
		e.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	var in *InputError
	code := "INTERNAL"
	if errors.As(err, &in) {
		code = "BAD_USER_INPUT"
	}
	e.Extensions = map[string]any{"code": code}
	x.errs = append(x.errs, e)
}

// complete shapes a resolved value as the field's type says.
func (x *executor) complete(typ *ast.Type, fields []*ast.Field, v any, path ast.Path) any {
	if v == nil {
		return nil
	}
	if typ.Elem != nil {
		list, _ := v.([]any)
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = x.complete(typ.Elem, fields, e, append(append(ast.Path{}, path...), ast.PathIndex(i)))
		}
		return out
	}
	def := x.schema.Types[typ.NamedType]
	if def.IsLeafType() {
		if t, ok := v.(time.Time); ok {
			return jsonValue(t)
		}
		return v
	}
	src, _ := v.(map[string]any)
	var set ast.SelectionSet
	for _, f := range fields {
		set = append(set, f.SelectionSet...)
	}
	return x.selectObject(def, set, src, path)
}

// collect gathers the fields of a selection set by response key,
// following fragments whose type condition holds and honouring @skip and
// @include.
func (x *executor) collect(def *ast.Definition, set ast.SelectionSet, byKey map[string]*fieldGroup, groups *[]*fieldGroup, visited map[string]bool) {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if !x.included(sel.Directives) {
				continue
			}
			key := sel.Alias
			if key == "" {
				key = sel.Name
			}
			g := byKey[key]
			if g == nil {
				g = &fieldGroup{key: key}
				byKey[key] = g
				*groups = append(*groups, g)
			}
			g.fields = append(g.fields, sel)
		case *ast.InlineFragment:
			if x.included(sel.Directives) && (sel.TypeCondition == "" || sel.TypeCondition == def.Name) {
				x.collect(def, sel.SelectionSet, byKey, groups, visited)
			}
		case *ast.FragmentSpread:
			if visited[sel.Name] || !x.included(sel.Directives) {
				continue
			}
			visited[sel.Name] = true
			if frag := x.doc.Fragments.ForName(sel.Name); frag != nil && frag.TypeCondition == def.Name {
				x.collect(def, frag.SelectionSet, byKey, groups, visited)
			}
		}
	}
}

func (x *executor) included(dirs ast.DirectiveList) bool {
	if d := dirs.ForName("skip"); d != nil && d.ArgumentMap(x.vars)["if"] == true {
		return false
	}
	if d := dirs.ForName("include"); d != nil && d.ArgumentMap(x.vars)["if"] == false {
		return false
	}
	return true
}

// introspection answers __schema and __type from the schema, building
// each __Type once (types refer to each other; lists of fields are built
// when selected).
type introspection struct {
	schema *ast.Schema
	types  map[string]map[string]any
}

func (in *introspection) schemaValue() map[string]any {
	names := make([]string, 0, len(in.schema.Types))
	for n := range in.schema.Types {
		names = append(names, n)
	}
	sort.Strings(names)
	types := make([]any, len(names))
	for i, n := range names {
		types[i] = in.named(n)
	}
	dnames := make([]string, 0, len(in.schema.Directives))
	for n := range in.schema.Directives {
		dnames = append(dnames, n)
	}
	sort.Strings(dnames)
	dirs := make([]any, len(dnames))
	for i, n := range dnames {
		d := in.schema.Directives[n]
		locs := make([]any, len(d.Locations))
		for k, l := range d.Locations {
			locs[k] = string(l)
		}
		dirs[i] = map[string]any{"name": d.Name, "description": nilIfEmpty(d.Description), "isRepeatable": d.IsRepeatable,
			"locations": locs, "args": in.args(d.Arguments)}
	}
	return map[string]any{"description": nilIfEmpty(in.schema.Description), "types": types,
		"queryType": in.named(in.schema.Query.Name), "mutationType": nil, "subscriptionType": nil, "directives": dirs}
}

func (in *introspection) named(name string) map[string]any {
	if m, ok := in.types[name]; ok {
		return m
	}
	def := in.schema.Types[name]
	m := map[string]any{"kind": string(def.Kind), "name": def.Name, "description": nilIfEmpty(def.Description)}
	in.types[name] = m
	if def.Kind == ast.Object || def.Kind == ast.Interface {
		m["interfaces"] = []any{}
		m["fields"] = Resolver(func(map[string]any) (any, error) {
			var out []any
			for _, f := range def.Fields {
				if strings.HasPrefix(f.Name, "__") {
					continue
				}
				out = append(out, map[string]any{"name": f.Name, "description": nilIfEmpty(f.Description),
					"args": in.args(f.Arguments), "type": in.ref(f.Type), "isDeprecated": false, "deprecationReason": nil})
			}
			return out, nil
		})
	}
	if def.Kind == ast.Enum {
		m["enumValues"] = Resolver(func(map[string]any) (any, error) {
			out := make([]any, len(def.EnumValues))
			for i, v := range def.EnumValues {
				out[i] = map[string]any{"name": v.Name, "description": nilIfEmpty(v.Description), "isDeprecated": false, "deprecationReason": nil}
			}
			return out, nil
		})
	}
	return m
}

// ref is the __Type of a type reference: NON_NULL and LIST wrap named types.
func (in *introspection) ref(t *ast.Type) map[string]any {
	switch {
	case t.NonNull:
		inner := *t
		inner.NonNull = false
		return map[string]any{"kind": "NON_NULL", "ofType": in.ref(&inner)}
	case t.Elem != nil:
		return map[string]any{"kind": "LIST", "ofType": in.ref(t.Elem)}
	}
	return in.named(t.NamedType)
}

func (in *introspection) args(defs ast.ArgumentDefinitionList) []any {
	out := make([]any, len(defs))
	for i, a := range defs {
		var def any
		if a.DefaultValue != nil {
			def = a.DefaultValue.String()
		}
		out[i] = map[string]any{"name": a.Name, "description": nilIfEmpty(a.Description), "type": in.ref(a.Type),
			"defaultValue": def, "isDeprecated": false, "deprecationReason": nil}
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
