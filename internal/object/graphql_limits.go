package object

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// Limits of one GraphQL query. They are checked on the parsed document,
// before validation and execution, whose cost they bound: 2000 aliases of
// one connection at first: 1000 once took 59 s and 7 GB.
const (
	// GraphQLTokensMax bounds the tokens of the document (the parser stops
	// there), and so its size and nesting.
	GraphQLTokensMax = 15000
	// GraphQLDepthMax bounds the nesting of selections; the introspection
	// query GraphiQL sends is 13 deep.
	GraphQLDepthMax = 20
	// GraphQLFieldsMax bounds the fields selected, fragments expanded.
	GraphQLFieldsMax = 1000
	// GraphQLAliasesMax bounds the aliased fields, fragments expanded.
	GraphQLAliasesMax = 100
	// GraphQLNodesMax bounds the records the connections may return: the
	// sum, over the connection fields, of the product of the page sizes
	// (first, else FirstDefault) of the connection and of those around it.
	GraphQLNodesMax = 10 * FirstMax
)

// QueryLimitError is a query over one of the limits; the API answers it
// with 400.
type QueryLimitError struct {
	// Limit names the limit: tokens, depth, fields, aliases or nodes.
	Limit string
	Max   int
}

func (e *QueryLimitError) Error() string {
	what := map[string]string{
		"tokens":  "tokens",
		"depth":   "levels of nested selections",
		"fields":  "fields (fragments expanded)",
		"aliases": "aliased fields (fragments expanded)",
		"nodes":   "records its connections may return (the page sizes of nested connections multiply)",
	}[e.Limit]
	return fmt.Sprintf("the query is over the %s limit: at most %d %s per query; split it or ask for smaller pages", e.Limit, e.Max, what)
}

// parseQuery parses a query within the token limit.
func parseQuery(query string) (*ast.QueryDocument, error) {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, GraphQLTokensMax)
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) {
		switch {
		case gqlErr.Message == fmt.Sprintf("exceeded token limit of %d", GraphQLTokensMax):
			return nil, &QueryLimitError{Limit: "tokens", Max: GraphQLTokensMax}
		case strings.HasPrefix(gqlErr.Message, "exceeded maximum nesting depth"): // the parser's own bound
			return nil, &QueryLimitError{Limit: "depth", Max: GraphQLDepthMax}
		}
	}
	return doc, err
}

// cost walks a document's selections, fragments expanded, counting what
// the limits bound; it stops at the first limit crossed.
type cost struct {
	schema *ast.Schema
	doc    *ast.QueryDocument
	vars   map[string]any
	fields int
	alias  int
	nodes  int
	// spreading holds the fragments being expanded: a cycle (which
	// validation refuses later) is not followed.
	spreading map[string]bool
}

// checkLimits returns a *QueryLimitError when the operations of doc are
// over a limit.
func checkLimits(schema *ast.Schema, doc *ast.QueryDocument, vars map[string]any) error {
	c := &cost{schema: schema, doc: doc, vars: vars, spreading: map[string]bool{}}
	for _, op := range doc.Operations {
		if err := c.selections(schema.Query, op.SelectionSet, 1, 1); err != nil {
			return err
		}
	}
	return nil
}

// selections counts a selection set of type def (nil when unknown) at a
// depth, under connections whose page sizes multiply to pages.
func (c *cost) selections(def *ast.Definition, set ast.SelectionSet, depth, pages int) error {
	if depth > GraphQLDepthMax {
		return &QueryLimitError{Limit: "depth", Max: GraphQLDepthMax}
	}
	for _, sel := range set {
		var err error
		switch sel := sel.(type) {
		case *ast.Field:
			err = c.field(def, sel, depth, pages)
		case *ast.InlineFragment:
			err = c.selections(c.typeNamed(sel.TypeCondition, def), sel.SelectionSet, depth, pages)
		case *ast.FragmentSpread:
			frag := c.doc.Fragments.ForName(sel.Name)
			if frag == nil || c.spreading[sel.Name] {
				continue
			}
			c.spreading[sel.Name] = true
			err = c.selections(c.typeNamed(frag.TypeCondition, def), frag.SelectionSet, depth, pages)
			c.spreading[sel.Name] = false
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *cost) field(parent *ast.Definition, f *ast.Field, depth, pages int) error {
	if c.fields++; c.fields > GraphQLFieldsMax {
		return &QueryLimitError{Limit: "fields", Max: GraphQLFieldsMax}
	}
	if f.Alias != "" && f.Alias != f.Name {
		if c.alias++; c.alias > GraphQLAliasesMax {
			return &QueryLimitError{Limit: "aliases", Max: GraphQLAliasesMax}
		}
	}
	var fd *ast.FieldDefinition
	if parent != nil {
		fd = parent.Fields.ForName(f.Name)
	}
	var def *ast.Definition
	if fd != nil {
		def = c.schema.Types[fd.Type.Name()]
		if fd.Arguments.ForName("first") != nil {
			pages *= c.first(f)
			if c.nodes += pages; c.nodes > GraphQLNodesMax {
				return &QueryLimitError{Limit: "nodes", Max: GraphQLNodesMax}
			}
		}
	}
	if len(f.SelectionSet) == 0 {
		return nil
	}
	return c.selections(def, f.SelectionSet, depth+1, pages)
}

// first is a connection's page size: its first argument, a literal or a
// variable, else FirstDefault; a value that is not a page size counts as
// FirstMax (validation or the resolver refuses it later).
func (c *cost) first(f *ast.Field) int {
	arg := f.Arguments.ForName("first")
	if arg == nil || arg.Value == nil {
		return FirstDefault
	}
	n, ok := 0, false
	switch arg.Value.Kind {
	case ast.Variable:
		v, set := c.vars[arg.Value.Raw]
		if !set || v == nil {
			return FirstDefault
		}
		n, ok = intArg(v)
	case ast.IntValue:
		var err error
		n, err = strconv.Atoi(arg.Value.Raw)
		ok = err == nil
	}
	if !ok || n < 0 || n > FirstMax {
		return FirstMax
	}
	return max(n, 1)
}

// typeNamed is the type of a fragment's condition, else def.
func (c *cost) typeNamed(name string, def *ast.Definition) *ast.Definition {
	if name == "" {
		return def
	}
	return c.schema.Types[name]
}
