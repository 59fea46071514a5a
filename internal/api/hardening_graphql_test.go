package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/plugin"
)

// TestGraphQLCostLimits: 2000 aliases of one connection took 59 s and
// 7 GB. Aliases, fields, depth, tokens and the records the connections may
// return are limited per query, with a 400 naming the limit; usual queries
// (a full page, GraphiQL's introspection) still run.
func TestGraphQLCostLimits(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			if r := s.applyConfig(t, objectsConfig); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			s.do(t, "POST", "/v1/objects/ocp_quickstart_offline_stores", jsonHeader, []byte(`[{"ocp_quickstart_offline_store_id":"s1"}]`))
			query := func(q string, vars map[string]any) (int, gqlAnswer) { return s.graphQL(t, q, vars) }
			over := func(limit, q string, vars map[string]any) {
				t.Helper()
				status, a := query(q, vars)
				if status != 400 || len(a.Errors) != 1 || a.Errors[0].Extensions["code"] != "QUERY_TOO_COMPLEX" ||
					a.Errors[0].Extensions["limit"] != limit || !strings.Contains(a.Errors[0].Message, "the "+limit+" limit") {
					t.Errorf("%s: %d %+v", limit, status, a)
				}
			}
			ok := func(q string, vars map[string]any) {
				t.Helper()
				if status, a := query(q, vars); status != 200 || len(a.Errors) > 0 {
					t.Errorf("%.80s: %d %+v", q, status, a)
				}
			}
			const conn = "ocp_quickstart_offline_stores"
			aliases := func(n int, sel string) string {
				var b strings.Builder
				b.WriteString("{")
				for i := range n {
					fmt.Fprintf(&b, " a%d: %s", i, sel)
				}
				return b.String() + " }"
			}
			page := conn + "(first: 1000) { edges { node { ocp_quickstart_offline_store_id } } }"
			ok("{ "+page+" }", nil)
			ok(introspectionQuery, nil)
			ok(aliases(10, page), nil) // 10 pages of 1000: at the limit
			ok(aliases(100, "__typename"), nil)

			over("aliases", aliases(101, "__typename"), nil)
			over("tokens", aliases(2000, page), nil) // the probe: over several limits, tokens found first
			over("nodes", aliases(11, page), nil)
			over("nodes", "query($n: Int) {"+strings.TrimPrefix(aliases(11, conn+"(first: $n) { edges { cursor } }"), "{"), map[string]any{"n": 1000})
			over("fields", "{ "+conn+"(first: 1) { edges { node {"+strings.Repeat(" ocp_quickstart_offline_store_id", 1001)+" } } } }", nil)
			over("fields", "fragment F on ocp_quickstart_offline_storesEdge { cursor cursor cursor cursor cursor cursor cursor cursor cursor cursor }\n"+
				"{ "+conn+"(first: 1) { edges {"+strings.Repeat(" ...F", 101)+" } } }", nil)
			over("depth", "{ __schema { types { fields { type"+strings.Repeat(" { ofType", 20)+" { name }"+strings.Repeat(" }", 20)+" } } } }", nil)
			over("tokens", "{"+strings.Repeat(" __typename", 16000)+" }", nil)
			over("depth", "{"+strings.Repeat(" a {", 5000), nil) // the parser stops at 1000 levels
		})
	}
}

// introspectionQuery is GraphiQL's.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

// TestGraphQLDeepJSON: a request body nested deeper than encoding/json
// takes is a 400, not a server fault.
func TestGraphQLDeepJSON(t *testing.T) {
	s := newServer(t, "duckdb", api.Config{})
	body := `{"query":"{ _types }","variables":{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`
	r := s.do(t, "POST", "/v1/graphql", jsonHeader, []byte(body))
	if r.status != 400 || !strings.Contains(string(r.body), "exceeded max depth") {
		t.Errorf("%d %.300s", r.status, r.body)
	}
}

// TestPluginAttrsPath: a path ending in .attrs answered 500 (the file
// storage keeps metadata under such names), its log naming internal
// storage keys. It is refused as any bad path is, naming only the path.
func TestPluginAttrsPath(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newPluginServer(t, backend, plugin.Options{})
			ctx := context.Background()
			run := "3f1c2a9e-1b7d-4c55-9a43-2f0e8d6b7c11"
			if err := s.plugins.StageStart(ctx, run, "initial"); err != nil {
				t.Fatal(err)
			}
			ttl := s.plugins.TTL(false)
			up := s.plugins.URL(plugin.KindUploadURL, run, "initial", ttl)
			down := s.plugins.URL(plugin.KindFiles, run, "initial", ttl)
			for _, p := range []string{"/model.attrs", "/dir.attrs/model.pkl"} {
				for _, u := range []string{up + p, down + p} {
					r := fetch(t, "GET", u, nil)
					expectError(t, r, 400, "invalid_path", ".attrs, which the file storage keeps for its own use")
					if strings.Contains(string(r.body), run) {
						t.Errorf("the error names the run's storage key: %s", r.body)
					}
				}
			}
			// A file and a folder of the same name: the second is refused
			// with a 4xx, not a server fault.
			r := fetch(t, "GET", up+"/a", nil)
			if r := fetch(t, "PUT", string(r.body), []byte("x")); r.status != 200 {
				t.Fatalf("put a: %d %s", r.status, r.body)
			}
			r = fetch(t, "GET", up+"/a/b", nil)
			r = fetch(t, "PUT", string(r.body), []byte("y"))
			expectError(t, r, 400, "invalid_path", "a file is where its folder would be")
			expectError(t, fetch(t, "GET", down+"/a/b", nil), 404, "not_found", "")
		})
	}
}
