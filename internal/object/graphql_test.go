package object_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/object"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/job"
)

// offlineStores is the quickstart's object type (spec section 8).
var offlineStores = object.Type{Name: "ocp_quickstart_offline_stores", DisplayName: "OCP Quickstart Offline Stores", Fields: []object.Field{
	{Name: "ocp_quickstart_offline_store_id", Type: "string", Primary: true, DisplayName: "OCP Quickstart Offline Store ID", Description: "ID of the Offline Store"},
	{Name: "ocp_quickstart_offline_store_name", Type: "string"},
	{Name: "ocp_quickstart_offline_store_location", Type: "string"},
}}

func (f *fixture) graphQL(t *testing.T, query string, vars map[string]any) string {
	t.Helper()
	res, err := f.GraphQL(ctx, &object.GraphQLRequest{Query: query, Variables: vars})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGraphQL(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, offlineStores, stores)
			var recs []job.Record
			for i, city := range []string{"Prague", "Brno", "Wien"} {
				recs = append(recs, job.Record{"ocp_quickstart_offline_store_id": fmt.Sprintf("s%d", i+1), "ocp_quickstart_offline_store_name": city})
			}
			if _, err := f.Upsert(ctx, "ocp_quickstart_offline_stores", recs); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Upsert(ctx, "stores", []job.Record{{"store_id": "x", "size": 2.5, "opened": "2026-01-02T03:04:05Z", "active": true}}); err != nil {
				t.Fatal(err)
			}

			// The spec's query, two at a time, then the next page by cursor.
			q := `query Page($after: String) { ocp_quickstart_offline_stores(first: 2, after: $after) {
				edges { cursor node { ocp_quickstart_offline_store_id ocp_quickstart_offline_store_name } }
				pageInfo { hasNextPage endCursor } } }`
			got := f.graphQL(t, q, nil)
			var first struct {
				Data struct {
					Page struct {
						Edges []struct {
							Cursor string
						}
						PageInfo struct{ EndCursor string }
					} `json:"ocp_quickstart_offline_stores"`
				}
			}
			if err := json.Unmarshal([]byte(got), &first); err != nil {
				t.Fatal(err)
			}
			end := first.Data.Page.PageInfo.EndCursor
			want := `{"data":{"ocp_quickstart_offline_stores":{"edges":[` +
				`{"cursor":"` + first.Data.Page.Edges[0].Cursor + `","node":{"ocp_quickstart_offline_store_id":"s1","ocp_quickstart_offline_store_name":"Prague"}},` +
				`{"cursor":"` + end + `","node":{"ocp_quickstart_offline_store_id":"s2","ocp_quickstart_offline_store_name":"Brno"}}],` +
				`"pageInfo":{"hasNextPage":true,"endCursor":"` + end + `"}}}}`
			if got != want || end == "" {
				t.Errorf("first page\n%s\nwant\n%s", got, want)
			}
			got = f.graphQL(t, q, map[string]any{"after": end})
			if !strings.Contains(got, `"node":{"ocp_quickstart_offline_store_id":"s3","ocp_quickstart_offline_store_name":"Wien"}}],"pageInfo":{"hasNextPage":false,`) {
				t.Errorf("second page %s", got)
			}

			// Filters, aliases, fragments, directives, __typename, types of
			// values.
			got = f.graphQL(t, `query($skip: Boolean!) {
				one: ocp_quickstart_offline_stores(ocp_quickstart_offline_store_id: "s2") { edges { node { ...names } } }
				none: ocp_quickstart_offline_stores(ocp_quickstart_offline_store_id: "zz") { edges { cursor } pageInfo { hasNextPage startCursor endCursor } }
				stores { __typename edges { node { __typename store_id size opened active name @skip(if: $skip) ... on stores { active } } } }
				_types
			}
			fragment names on ocp_quickstart_offline_stores { ocp_quickstart_offline_store_name }`, map[string]any{"skip": true})
			want = `{"data":{"one":{"edges":[{"node":{"ocp_quickstart_offline_store_name":"Brno"}}]},` +
				`"none":{"edges":[],"pageInfo":{"hasNextPage":false,"startCursor":null,"endCursor":null}},` +
				`"stores":{"__typename":"storesConnection","edges":[{"node":{"__typename":"stores","store_id":"x","size":2.5,"opened":"2026-01-02T03:04:05Z","active":true}}]},` +
				`"_types":["ocp_quickstart_offline_stores","stores"]}}`
			if got != want {
				t.Errorf("query\n%s\nwant\n%s", got, want)
			}

			// Errors: validation with locations and no data; execution
			// errors null their field only.
			for _, c := range []struct{ query, want string }{
				{"{ ocp_quickstart_offline_stores { edges { node { offline_store_name } } } }",
					`{"errors":[{"message":"Cannot query field \"offline_store_name\" on type \"ocp_quickstart_offline_stores\".","locations":[{"line":1,"column":50}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`},
				{"{ nope { edges { cursor } } }", `"message":"Cannot query field \"nope\" on type \"Query\".","locations":[{"line":1,"column":3}]`},
				{"{ stores(city: \"x\") { edges { cursor } } }", `Unknown argument \"city\" on field \"Query.stores\".`},
				{"{ stores { edges ", `{"errors":[{"message":"Expected Name, found \u003cEOF\u003e","locations":[{"line":1,"column":18}],"extensions":{"code":"GRAPHQL_PARSE_FAILED"}}]}`},
				{"mutation { stores { edges { cursor } } }", `Schema does not support operation type \"mutation\"`},
				{"{ stores(first: 1001) { edges { cursor } } ok: stores(first: 1) { edges { cursor } } }",
					`{"data":{"stores":null,"ok":{"edges":[{"cursor":`},
				{"{ stores(first: 1001) { edges { cursor } } }",
					`"errors":[{"message":"first must be from 0 to 1000, got 1001","path":["stores"],"locations":[{"line":1,"column":3}],"extensions":{"code":"BAD_USER_INPUT"}}]}`},
				{`{ stores(after: "junk") { edges { cursor } } }`, `"message":"after \"junk\" is not a cursor of stores`},
				{"query A { _types } query B { _types }", `"message":"the document has 2 operations: say which to run in operationName"`},
				{"  ", `{"errors":[{"message":"the request has no query"}]}`},
			} {
				got := f.graphQL(t, c.query, nil)
				if !strings.Contains(got, c.want) {
					t.Errorf("%s\ngot  %s\nwant %s", c.query, got, c.want)
				}
			}
		})
	}
}

func TestGraphQLIntrospection(t *testing.T) {
	f := newFixture(t, "duckdb", offlineStores)
	got := f.graphQL(t, `{ __schema { queryType { name } types { name } }
		__type(name: "ocp_quickstart_offline_stores") { kind name description
			fields { name description type { kind name ofType { kind name } } } }
		missing: __type(name: "Nope") { name } }`, nil)
	for _, want := range []string{
		`"queryType":{"name":"Query"}`,
		`{"name":"ocp_quickstart_offline_storesConnection"}`,
		`{"name":"PageInfo"}`,
		`{"name":"Timestamp"}`,
		`"__type":{"kind":"OBJECT","name":"ocp_quickstart_offline_stores","description":"OCP Quickstart Offline Stores","fields":[` +
			`{"name":"ocp_quickstart_offline_store_id","description":"OCP Quickstart Offline Store ID: ID of the Offline Store","type":{"kind":"NON_NULL","name":null,"ofType":{"kind":"SCALAR","name":"String"}}},` +
			`{"name":"ocp_quickstart_offline_store_name","description":null,"type":{"kind":"SCALAR","name":"String","ofType":null}},`,
		`"missing":null`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("introspection lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"errors"`) {
		t.Errorf("errors: %s", got)
	}
	// The query field's arguments: paging and the primary field.
	got = f.graphQL(t, `{ __schema { queryType { fields { name args { name defaultValue type { name } } } } } }`, nil)
	want := `{"name":"ocp_quickstart_offline_stores","args":[{"name":"first","defaultValue":"100","type":{"name":"Int"}},{"name":"after","defaultValue":null,"type":{"name":"String"}},{"name":"ocp_quickstart_offline_store_id","defaultValue":null,"type":{"name":"String"}}]}`
	if !strings.Contains(got, want) {
		t.Errorf("query fields:\n%s\nwant %s", got, want)
	}
}
