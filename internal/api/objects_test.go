package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
)

const objectsConfig = `objects:
  - name: ocp_quickstart_offline_stores
    display_name: OCP Quickstart Offline Stores
    fields:
      - {name: ocp_quickstart_offline_store_id, type: string, primary: true}
      - {name: ocp_quickstart_offline_store_name, type: string}
      - {name: ocp_quickstart_offline_store_location, type: string}
      - {name: opened, type: timestamp}
      - {name: size, type: number}
`

var jsonHeader = map[string]string{"Content-Type": "application/json"}

func (s *testServer) applyConfig(t *testing.T, doc string) response {
	t.Helper()
	return s.do(t, "PUT", "/v1/config", map[string]string{"Content-Type": "application/yaml"}, []byte(doc))
}

type upsertAnswer struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Index int    `json:"index"`
		Field string `json:"field"`
		Error string `json:"error"`
	} `json:"rejected"`
}

type pageAnswer struct {
	Records     []map[string]any `json:"records"`
	HasNextPage bool             `json:"has_next_page"`
	EndCursor   *string          `json:"end_cursor"`
}

func TestObjectsAPI(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			const path = "/v1/objects/ocp_quickstart_offline_stores"
			expectError(t, s.do(t, "POST", path, jsonHeader, []byte(`[]`)), 404, "not_found",
				`unknown object type "ocp_quickstart_offline_stores": no object types are declared`)
			if r := s.applyConfig(t, objectsConfig); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}

			// The quickstart's transform writes fields the schema does not
			// declare: they are refused, naming the field.
			r := s.do(t, "POST", path, jsonHeader, []byte(`[
				{"ocp_quickstart_offline_store_id":"s1","ocp_quickstart_offline_store_name":" Prague ","ocp_quickstart_offline_store_location":"CZ"},
				{"ocp_quickstart_offline_store_id":"s2","offline_store_name":"Brno"},
				{"ocp_quickstart_offline_store_id":"s3","ocp_quickstart_offline_store_name":"Wien","size":"x"},
				{"ocp_quickstart_offline_store_name":"nameless"},
				{"ocp_quickstart_offline_store_id":"s4","ocp_quickstart_offline_store_name":"","opened":"2026-01-02T03:04:05Z"}
			]`))
			res := decode[upsertAnswer](t, r)
			if r.status != 200 || res.Accepted != 2 || len(res.Rejected) != 3 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if e := res.Rejected[0]; e.Index != 1 || e.Field != "offline_store_name" || !strings.HasPrefix(e.Error, "unknown field of ocp_quickstart_offline_stores") {
				t.Errorf("rejection %+v", e)
			}
			if e := res.Rejected[1]; e.Index != 2 || e.Field != "size" || e.Error != `want a number, got "x"` {
				t.Errorf("rejection %+v", e)
			}
			if e := res.Rejected[2]; e.Index != 3 || e.Field != "ocp_quickstart_offline_store_id" {
				t.Errorf("rejection %+v", e)
			}
			// One object on its own; fields not sent keep their values.
			r = s.do(t, "POST", path, nil, []byte(`{"ocp_quickstart_offline_store_id":"s1","size":3}`))
			if res := decode[upsertAnswer](t, r); r.status != 200 || res.Accepted != 1 || len(res.Rejected) != 0 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			page := decode[pageAnswer](t, s.do(t, "GET", path+"?first=1", nil, nil))
			if len(page.Records) != 1 || !page.HasNextPage || page.EndCursor == nil {
				t.Fatalf("%+v", page)
			}
			if got, _ := json.Marshal(page.Records[0]); string(got) != `{"ocp_quickstart_offline_store_id":"s1","ocp_quickstart_offline_store_location":"CZ","ocp_quickstart_offline_store_name":"Prague","opened":null,"size":3}` {
				t.Errorf("record %s", got)
			}
			r = s.do(t, "GET", path+"?first=5&after="+url.QueryEscape(*page.EndCursor), nil, nil)
			// Fields in declaration order, nulls included.
			if want := `{"records":[{"ocp_quickstart_offline_store_id":"s4","ocp_quickstart_offline_store_name":null,"ocp_quickstart_offline_store_location":null,"opened":"2026-01-02T03:04:05Z","size":null}],"has_next_page":false,"end_cursor":"`; !strings.HasPrefix(string(r.body), want) {
				t.Errorf("second page %s", r.body)
			}
			page = decode[pageAnswer](t, s.do(t, "GET", path+"?ocp_quickstart_offline_store_id=s4", nil, nil))
			if len(page.Records) != 1 || page.Records[0]["opened"] != "2026-01-02T03:04:05Z" || page.HasNextPage {
				t.Errorf("filtered %+v", page)
			}
			page = decode[pageAnswer](t, s.do(t, "GET", path+"?ocp_quickstart_offline_store_id=zz", nil, nil))
			if len(page.Records) != 0 || page.EndCursor != nil {
				t.Errorf("filtered to nothing %+v", page)
			}

			// Bad requests.
			expectError(t, s.do(t, "GET", "/v1/objects/nope", nil, nil), 404, "not_found", `unknown object type "nope" (declared: ocp_quickstart_offline_stores)`)
			expectError(t, s.do(t, "POST", "/v1/objects/nope", nil, []byte(`{}`)), 404, "not_found", `unknown object type "nope"`)
			expectError(t, s.do(t, "GET", path+"?size=3", nil, nil), 400, "bad_request", "size is not a primary field of ocp_quickstart_offline_stores: filters are on the primary fields (ocp_quickstart_offline_store_id)")
			expectError(t, s.do(t, "GET", path+"?first=1001", nil, nil), 400, "bad_request", `first must be an integer from 0 to 1000, got "1001"`)
			expectError(t, s.do(t, "GET", path+"?after=xyz", nil, nil), 400, "bad_request", `after "xyz" is not a cursor of ocp_quickstart_offline_stores`)
			expectError(t, s.do(t, "GET", path+"?ocp_quickstart_offline_store_id=a&ocp_quickstart_offline_store_id=b", nil, nil), 400, "bad_request", "given 2 times")
			expectError(t, s.do(t, "POST", path, nil, []byte(`[{"a":1},`)), 400, "bad_request", "the body is not valid JSON: unexpected end of JSON input")
			expectError(t, s.do(t, "POST", path, nil, []byte(`"s1"`)), 400, "bad_request", "the body must be a JSON object or an array of them")
			expectError(t, s.do(t, "POST", path, nil, nil), 400, "bad_request", "the body is empty")
			big := "[" + strings.Repeat(`{"ocp_quickstart_offline_store_id":"x"},`, api.ObjectBatchMax) + `{}]`
			expectError(t, s.do(t, "POST", path, nil, []byte(big)), 413, "batch_too_large",
				fmt.Sprintf("the batch holds %d records, more than the %d allowed per call: split it", api.ObjectBatchMax+1, api.ObjectBatchMax))

			r = s.do(t, "GET", "/v1/objects", nil, nil)
			if r.status != 200 || !strings.Contains(string(r.body), `{"types":[{"name":"ocp_quickstart_offline_stores","display_name":"OCP Quickstart Offline Stores","fields":[{"name":"ocp_quickstart_offline_store_id","type":"string","primary":true}`) {
				t.Errorf("types %d %s", r.status, r.body)
			}
		})
	}
}

func TestObjectsConfigChanges(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			if r := s.applyConfig(t, objectsConfig); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			const path = "/v1/objects/ocp_quickstart_offline_stores"
			s.do(t, "POST", path, nil, []byte(`{"ocp_quickstart_offline_store_id":"s1","size":3}`))
			for _, c := range []struct{ doc, want string }{
				{strings.Replace(objectsConfig, "{name: size, type: number}", "{name: size, type: string}", 1),
					"config rejected, nothing changed: objects[0].fields[4] (size): the type changed from number to string"},
				{objectsConfig + "  - name: Bad\n    fields: [{name: id, type: string, primary: true}]\n",
					`objects[1] (Bad): name "Bad" must be 2 to 62 lower case letters`},
				{objectsConfig + "  - name: loose\n    fields: [{name: id, type: string}]\n", "objects[1] (loose): has no primary field"},
				{objectsConfig + "  - name: numbered\n    fields: [{name: id, type: number, primary: true}]\n",
					"objects[1].fields[0] (id): a primary field must be of type string, not number"},
				{objectsConfig + "  - name: twice\n    fields: [{name: id, type: string, primary: true}, {name: id, type: number}]\n",
					`objects[1].fields[1] (id): field "id" is declared twice`},
				{objectsConfig + "  - name: extra\n    fields: [{name: id, type: string, primary: true, unique: true}]\n", "field unique not found"},
			} {
				r := s.applyConfig(t, c.doc)
				expectError(t, r, 400, "invalid_config", c.want)
			}
			// Adding a field and a type works, and keeps the data.
			grown := strings.Replace(objectsConfig, "{name: size, type: number}", "{name: size, type: number}\n      - {name: rating, type: boolean}", 1) +
				"  - name: regions\n    fields: [{name: code, type: string, primary: true}]\n"
			if r := s.applyConfig(t, grown); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			s.do(t, "POST", path, nil, []byte(`{"ocp_quickstart_offline_store_id":"s1","rating":1}`))
			page := decode[pageAnswer](t, s.do(t, "GET", path, nil, nil))
			if len(page.Records) != 1 || page.Records[0]["size"] != 3.0 || page.Records[0]["rating"] != true {
				t.Errorf("%+v", page)
			}
			if r := s.do(t, "GET", "/v1/objects/regions", nil, nil); r.status != 200 {
				t.Errorf("new type: %d %s", r.status, r.body)
			}
		})
	}
}

type graphQLAnswer struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message   string           `json:"message"`
		Locations []map[string]int `json:"locations"`
		Path      []any            `json:"path"`
	} `json:"errors"`
}

func TestGraphQLAPI(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{APIKeys: []string{"k"}})
			key := map[string]string{"x-api-key": "k", "Content-Type": "application/json"}
			s.do(t, "PUT", "/v1/config", key, []byte(objectsConfig))
			s.do(t, "POST", "/v1/objects/ocp_quickstart_offline_stores", key, []byte(`[
				{"ocp_quickstart_offline_store_id":"s1","ocp_quickstart_offline_store_name":"Prague"},
				{"ocp_quickstart_offline_store_id":"s2","ocp_quickstart_offline_store_name":"Brno"}]`))
			query := func(body string) (int, graphQLAnswer) {
				r := s.do(t, "POST", "/v1/graphql", key, []byte(body))
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				return r.status, decode[graphQLAnswer](t, r)
			}
			status, a := query(`{"query":"query($n: Int) { ocp_quickstart_offline_stores(first: $n) { edges { node { ocp_quickstart_offline_store_name } } pageInfo { hasNextPage } } }","variables":{"n":1}}`)
			got, _ := json.Marshal(a.Data)
			if status != 200 || string(got) != `{"ocp_quickstart_offline_stores":{"edges":[{"node":{"ocp_quickstart_offline_store_name":"Prague"}}],"pageInfo":{"hasNextPage":true}}}` || a.Errors != nil {
				t.Errorf("%d %s %+v", status, got, a.Errors)
			}
			// Validation errors: 200, no data, message and location.
			status, a = query(`{"query":"{\n  ocp_quickstart_offline_stores {\n    edges { node { offline_store_name } }\n  }\n}"}`)
			if status != 200 || a.Data != nil || len(a.Errors) != 1 || a.Errors[0].Locations[0]["line"] != 3 || a.Errors[0].Locations[0]["column"] != 20 ||
				a.Errors[0].Message != `Cannot query field "offline_store_name" on type "ocp_quickstart_offline_stores".` {
				t.Errorf("%d %+v", status, a)
			}
			status, a = query(`{"query":"query($n: Int!) { ocp_quickstart_offline_stores(first: $n) { edges { cursor } } }"}`)
			if status != 200 || len(a.Errors) != 1 || a.Errors[0].Message != "must be defined" || fmt.Sprint(a.Errors[0].Path) != "[variable n]" {
				t.Errorf("%d %+v", status, a)
			}
			// Requests that cannot be read: 400, still in the GraphQL shape.
			status, a = query(`{"query": 1}`)
			if status != 400 || len(a.Errors) != 1 || !strings.HasPrefix(a.Errors[0].Message, `the body must be a JSON object {"query": ...`) {
				t.Errorf("%d %+v", status, a)
			}
			status, a = query(`{"variables": {}}`)
			if status != 400 || a.Errors[0].Message != "the request has no query" {
				t.Errorf("%d %+v", status, a)
			}
			// GET with ?query=, and the key is required.
			r := s.do(t, "GET", "/v1/graphql?query="+url.QueryEscape("{ _types }"), key, nil)
			if r.status != 200 || string(r.body) != `{"data":{"_types":["ocp_quickstart_offline_stores"]}}`+"\n" {
				t.Errorf("GET %d %s", r.status, r.body)
			}
			expectError(t, s.do(t, "POST", "/v1/graphql", nil, []byte(`{"query":"{ _types }"}`)), 401, "unauthorized", "missing x-api-key")
		})
	}
}
