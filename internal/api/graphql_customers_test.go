package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/store"
)

// customersYAML is segmentsYAML with an attribute of every data type.
var customersYAML = strings.Replace(segmentsYAML, "segments:\n", `  - {id: big, type: last, data_type: bool, value: "(payload->>'total')::numeric >= 100"}
  - {id: seen_day, type: first, data_type: date, value: "'2026-03-04'"}
  - {id: last_seen, type: max, data_type: datetime, value: event_time}
  - {id: totals, type: list, value: "payload->>'total'"}
segments:
`, 1)

// gqlAnswer is a GraphQL answer.
type gqlAnswer struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (s *testServer) graphQL(t *testing.T, q string, vars map[string]any) (int, gqlAnswer) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	r := s.do(t, "POST", "/v1/graphql", jsonHeader, body)
	var a gqlAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("%d %.300s", r.status, r.body)
	}
	return r.status, a
}

// gqlData runs a query that must succeed.
func (s *testServer) gqlData(t *testing.T, q string, vars map[string]any) map[string]any {
	t.Helper()
	status, a := s.graphQL(t, q, vars)
	if status != 200 || len(a.Errors) > 0 {
		t.Fatalf("%.200s: %d %+v", q, status, a)
	}
	return a.Data
}

// gqlFieldError runs a query whose one error must have code and say msg.
func (s *testServer) gqlFieldError(t *testing.T, q, code, msg string) {
	t.Helper()
	status, a := s.graphQL(t, q, nil)
	if status != 200 || len(a.Errors) != 1 || a.Errors[0].Extensions["code"] != code || !strings.Contains(a.Errors[0].Message, msg) {
		t.Errorf("%.200s: %d %+v, want %s %q", q, status, a, code, msg)
	}
}

// at walks an answer: keys of objects, indexes of lists.
func at(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[p]
		case int:
			l, _ := v.([]any)
			if p >= len(l) {
				return nil
			}
			v = l[p]
		}
	}
	return v
}

// TestGraphQLCustomer: customer(identifier:) answers a profile with
// identifiers, attributes typed by their data types, plugin properties,
// the segments in force and events newest first, paged; and the types of
// the attribute fields are the GraphQL types of their data types.
func TestGraphQLCustomer(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := segmentFixtureOn(t, newServer(t, backend, api.Config{}), customersYAML)
			for _, row := range [][]string{{"crm/20260101T000000Z/tier", f.ids["p1"], `"gold"`}, {"crm/20260101T000000Z/score", f.ids["p1"], `7.5`}, {"ml/20260102T000000Z/churn", f.ids["p1"], `true`}} {
				if _, err := f.store.ExecContext(context.Background(), `INSERT INTO plugin_property_values VALUES ($1, $2, $3)`, row[0], row[1], row[2]); err != nil {
					t.Fatal(err)
				}
			}
			// p1 gets a second event, so that events page.
			if r := f.do(t, "POST", "/v1/events", nil, []byte(rec("e9", "purchase", 9, `{"email":"p1@example.com","total":1}`))); r.status != 200 {
				t.Fatal(string(r.body))
			}
			for _, path := range []string{"/v1/stitching/run", "/v1/attributes/run"} {
				if r := f.do(t, "POST", path, nil, nil); r.status != 200 {
					t.Fatalf("%s: %d %s", path, r.status, r.body)
				}
			}
			q := `query($id: String!) { customer(identifier: $id) {
				id merged_from events_count first_event_time
				identifiers { category value }
				attributes { _defined spend email_address orders big seen_day last_seen totals }
				properties { id plugin run_id name value }
				crm: properties(plugin: "crm") { name }
				segments
				events(first: 1) { edges { cursor node { id seq type event_time payload } } pageInfo { hasNextPage endCursor } } } }`
			c := f.gqlData(t, q, map[string]any{"id": "email:p1@example.com"})["customer"]
			if at(c, "id") != f.ids["p1"] || at(c, "merged_from") != nil || at(c, "events_count") != 2.0 || at(c, "first_event_time") != "2026-01-02T03:04:05Z" {
				t.Errorf("profile: %v", c)
			}
			if got := at(c, "identifiers"); !reflect.DeepEqual(got, []any{map[string]any{"category": "email", "value": "p1@example.com"}}) {
				t.Errorf("identifiers: %v", got)
			}
			wantAttrs := map[string]any{"_defined": []any{"spend", "email_address", "orders", "big", "seen_day", "last_seen", "totals"},
				"spend": 151.0, "email_address": "p1@example.com", "orders": 2.0, "big": false, "seen_day": "2026-03-04",
				"last_seen": "2026-01-02T03:04:05.009Z", "totals": []any{"1", "150"}}
			if got := at(c, "attributes"); !reflect.DeepEqual(got, wantAttrs) {
				t.Errorf("attributes:\n%v\nwant\n%v", got, wantAttrs)
			}
			wantProps := []any{
				map[string]any{"id": "crm/20260101T000000Z/score", "plugin": "crm", "run_id": "20260101T000000Z", "name": "score", "value": 7.5},
				map[string]any{"id": "crm/20260101T000000Z/tier", "plugin": "crm", "run_id": "20260101T000000Z", "name": "tier", "value": "gold"},
				map[string]any{"id": "ml/20260102T000000Z/churn", "plugin": "ml", "run_id": "20260102T000000Z", "name": "churn", "value": true},
			}
			if got := at(c, "properties"); !reflect.DeepEqual(got, wantProps) {
				t.Errorf("properties: %v", got)
			}
			if got := at(c, "crm"); !reflect.DeepEqual(got, []any{map[string]any{"name": "score"}, map[string]any{"name": "tier"}}) {
				t.Errorf("properties of crm: %v", got)
			}
			if got := at(c, "segments"); !reflect.DeepEqual(got, []any{"big_spenders", "buyers"}) { // not retired: out of the config
				t.Errorf("segments: %v", got)
			}
			// Events newest first, a page of one, then the next by cursor.
			if at(c, "events", "edges", 0, "node", "id") != "e9" || at(c, "events", "pageInfo", "hasNextPage") != true ||
				at(c, "events", "edges", 0, "node", "payload", "total") != 1.0 {
				t.Errorf("events: %v", at(c, "events"))
			}
			next := f.gqlData(t, `query($id: String!, $after: String) { customer(identifier: $id) { events(first: 5, after: $after) {
				edges { node { id } } pageInfo { hasNextPage } } } }`, map[string]any{"id": f.ids["p1"], "after": at(c, "events", "pageInfo", "endCursor")})
			if ev := at(next, "customer", "events"); at(ev, "edges", 0, "node", "id") != "e0" || len(at(ev, "edges").([]any)) != 1 || at(ev, "pageInfo", "hasNextPage") != false {
				t.Errorf("second page of events: %v", ev)
			}

			// The GraphQL types of the attribute fields.
			types := f.gqlData(t, `{ __type(name: "CustomerAttributes") { fields { name type { kind name ofType { kind name ofType { kind name } } } } } }`, nil)
			want := map[string]string{"spend": "Float", "email_address": "String", "orders": "Long", "big": "Boolean",
				"seen_day": "Date", "last_seen": "Timestamp", "totals": "LIST of NON_NULL String", "_defined": "NON_NULL of LIST"}
			for _, fl := range at(types, "__type", "fields").([]any) {
				name := at(fl, "name").(string)
				got, _ := at(fl, "type", "name").(string)
				switch at(fl, "type", "kind") {
				case "LIST":
					got = fmt.Sprintf("LIST of %v %v", at(fl, "type", "ofType", "kind"), at(fl, "type", "ofType", "ofType", "name"))
				case "NON_NULL":
					got = fmt.Sprintf("NON_NULL of %v", at(fl, "type", "ofType", "kind"))
				}
				if got != want[name] {
					t.Errorf("attribute %s is a %s, want %s", name, got, want[name])
				}
				delete(want, name)
			}
			if len(want) > 0 {
				t.Errorf("fields missing: %v", want)
			}

			// No one holds the identifier: null, no error.
			if d := f.gqlData(t, `{ customer(identifier: "email:nobody@example.com") { id } }`, nil); d["customer"] != nil {
				t.Errorf("nobody: %v", d)
			}
			if d := f.gqlData(t, `{ customer(identifier: "0123456789abcdef0123456789abcdef") { id } }`, nil); d["customer"] != nil {
				t.Errorf("no such id: %v", d)
			}
		})
	}
}

// TestGraphQLCustomers: customers pages through the live customers in id
// order, stable across pages, and segment keeps a segment's members.
func TestGraphQLCustomers(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := segmentFixtureOn(t, newServer(t, backend, api.Config{}), customersYAML)
			all := make([]string, 0, 5)
			for _, id := range f.ids {
				all = append(all, id)
			}
			slices.Sort(all)
			pages := func(segment string, size int) []string {
				var got []string
				var after any
				for range 10 {
					d := f.gqlData(t, `query($after: String, $seg: String, $n: Int) { customers(first: $n, after: $after, segment: $seg) {
						edges { cursor node { id attributes { spend } } } pageInfo { hasNextPage endCursor } } }`,
						map[string]any{"after": after, "seg": segment, "n": size})
					for _, e := range at(d, "customers", "edges").([]any) {
						got = append(got, at(e, "node", "id").(string))
					}
					if at(d, "customers", "pageInfo", "hasNextPage") != true {
						return got
					}
					after = at(d, "customers", "pageInfo", "endCursor")
				}
				t.Fatal("more than 10 pages")
				return nil
			}
			if got := pages("", 2); !reflect.DeepEqual(got, all) {
				t.Errorf("pages of 2: %v, want %v", got, all)
			}
			if got := pages("", 1000); !reflect.DeepEqual(got, all) {
				t.Errorf("one page: %v, want %v", got, all)
			}
			buyers := []string{f.ids["p1"], f.ids["p2"], f.ids["p3"], f.ids["p4"]}
			slices.Sort(buyers)
			if got := pages("buyers", 3); !reflect.DeepEqual(got, buyers) {
				t.Errorf("buyers: %v, want %v", got, buyers)
			}
			if got := pages("fresh", 3); len(got) != 0 {
				t.Errorf("fresh has no members yet: %v", got)
			}
			d := f.gqlData(t, `{ customers(first: 0) { edges { cursor } pageInfo { hasNextPage endCursor } } }`, nil)
			if at(d, "customers", "pageInfo", "hasNextPage") != true || at(d, "customers", "pageInfo", "endCursor") != nil {
				t.Errorf("first 0: %v", d)
			}
		})
	}
}

// TestGraphQLCustomersHostile: bad arguments are field errors naming the
// argument; queries over the limits are refused with a 400 naming the
// limit, customers' fields counted as the object types' are.
func TestGraphQLCustomersHostile(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := segmentFixtureOn(t, newServer(t, backend, api.Config{}), customersYAML)
			const bad = "BAD_USER_INPUT"
			f.gqlFieldError(t, `{ customers(first: 1001) { edges { cursor } } }`, bad, "first must be from 0 to 1000, got 1001")
			f.gqlFieldError(t, `{ customers(first: -1) { edges { cursor } } }`, bad, "first must be from 0 to 1000, got -1")
			f.gqlFieldError(t, `{ customers(after: "garbage") { edges { cursor } } }`, bad, `after "garbage" is not a cursor of customers`)
			f.gqlFieldError(t, `{ customers(segment: "nope") { edges { cursor } } }`, bad, `segment "nope" is not a segment of the config in force (segments: big_spenders, buyers, fresh)`)
			f.gqlFieldError(t, `{ customer(identifier: "phone:1") { id } }`, bad, `identifier "phone:1": "phone" is not an identifier category (categories: anon_user_id, email, user_id)`)
			f.gqlFieldError(t, `{ customer(identifier: "email:") { id } }`, bad, `identifier "email:" has an empty value`)
			f.gqlFieldError(t, `{ customer(identifier: "  ") { id } }`, bad, "identifier is empty: pass category:value (categories: anon_user_id, email, user_id) or an entity id")
			f.gqlFieldError(t, `{ customer(identifier: "email:a\u0000b") { id } }`, bad, `identifier "email:a\x00b" holds a NUL character or invalid UTF-8`)
			// A lone surrogate reads as U+FFFD, in the query and in JSON variables: an id no one has.
			if d := f.gqlData(t, `{ customer(identifier: "\ud800") { id } }`, nil); d["customer"] != nil {
				t.Errorf("lone surrogate: %v", d)
			}
			r := f.do(t, "POST", "/v1/graphql", jsonHeader, []byte(`{"query":"query($id: String!) { customer(identifier: $id) { id } }","variables":{"id":"email:\ud800"}}`))
			if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"data":{"customer":null}}` {
				t.Errorf("lone surrogate in a variable: %d %s", r.status, r.body)
			}
			f.gqlFieldError(t, `{ customer(identifier: "email:p1@example.com") { events(after: "x") { edges { cursor } } } }`, bad, `after "x" is not a cursor of events`)
			f.gqlFieldError(t, `{ customer(identifier: "email:p1@example.com") { events(first: 5000) { edges { cursor } } } }`, bad, "first must be from 0 to 1000, got 5000")
			nul := base64.RawURLEncoding.EncodeToString([]byte("customer:\x00"))
			f.gqlFieldError(t, `{ customers(after: "`+nul+`") { edges { cursor } } }`, bad, "is not a cursor of customers")
			// A customer cursor is not an event cursor, nor the reverse.
			d := f.gqlData(t, `{ customers(first: 1) { pageInfo { endCursor } } }`, nil)
			cur := at(d, "customers", "pageInfo", "endCursor").(string)
			f.gqlFieldError(t, `{ customer(identifier: "email:p1@example.com") { events(after: "`+cur+`") { edges { cursor } } } }`, bad, "is not a cursor of events")

			f.gqlFieldError(t, `{ customers(first: 99999999999) { edges { cursor } } }`, bad, "first must be from 0 to 1000, got 99999999999")
			status, a := f.graphQL(t, `{ customers(identifier: "x") { edges { cursor } } }`, nil)
			if status != 200 || len(a.Errors) != 1 || !strings.Contains(a.Errors[0].Message, `Unknown argument "identifier"`) {
				t.Errorf("unknown argument: %d %+v", status, a)
			}
			over := func(limit, q string) {
				t.Helper()
				status, a := f.graphQL(t, q, nil)
				if status != 400 || len(a.Errors) != 1 || a.Errors[0].Extensions["limit"] != limit {
					t.Errorf("%s: %d %+v", limit, status, a)
				}
			}
			over("nodes", `{ customers(first: 1000) { edges { node { events(first: 100) { edges { cursor } } } } } }`)
			over("depth", `{ customer(identifier: "email:p1@example.com") {`+strings.Repeat(" parts {", 20)+" id"+strings.Repeat(" }", 20)+" } }")
			over("aliases", "{"+strings.Repeat(" c: customers(first: 1) { edges { cursor } }", 1)+strings.Repeat(" x: customer(identifier: \"email:a\") { id }", 0)+
				func() string {
					var b strings.Builder
					for i := range 101 {
						fmt.Fprintf(&b, " c%d: customer(identifier: \"email:p1@example.com\") { id }", i)
					}
					return b.String()
				}()+" }")
			// Nested pages within the limit run.
			f.gqlData(t, `{ customers(first: 50) { edges { node { events(first: 100) { edges { cursor } } } } } }`, nil)
		})
	}
}

// countingStore counts the reads of customers' parts.
type countingStore struct {
	*store.DB
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingStore) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[name]++
}

func (c *countingStore) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

func (c *countingStore) CustomerPage(ctx context.Context, p *store.CustomerPageParams) ([]store.Entity, error) {
	c.count("CustomerPage")
	return c.DB.CustomerPage(ctx, p)
}

func (c *countingStore) CustomerGet(ctx context.Context, ids []string) ([]store.Entity, error) {
	c.count("CustomerGet")
	return c.DB.CustomerGet(ctx, ids)
}

func (c *countingStore) CustomerEvents(ctx context.Context, p *store.CustomerEventsParams) (map[string][]store.Event, error) {
	c.count("CustomerEvents")
	return c.DB.CustomerEvents(ctx, p)
}

func (c *countingStore) AttributeValuesOf(ctx context.Context, ids []string) (map[string]map[string][]string, error) {
	c.count("AttributeValuesOf")
	return c.DB.AttributeValuesOf(ctx, ids)
}

func (c *countingStore) PropertyValuesOf(ctx context.Context, ids []string) (map[string]map[string]json.RawMessage, error) {
	c.count("PropertyValuesOf")
	return c.DB.PropertyValuesOf(ctx, ids)
}

func (c *countingStore) SegmentsOf(ctx context.Context, ids []string) (map[string][]string, error) {
	c.count("SegmentsOf")
	return c.DB.SegmentsOf(ctx, ids)
}

// TestGraphQLCustomersBatched: a page of customers with every part reads
// each part once for the page, not once per customer; so do the customers
// that a page of object records references.
func TestGraphQLCustomersBatched(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			st := openStore(t, backend)
			counter := &countingStore{DB: st, calls: map[string]int{}}
			yaml := customersYAML + `objects:
  - name: orders
    fields:
      - {name: order_id, type: string, primary: true}
      - {name: buyer, type: string, customer: email}
`
			f := segmentFixtureOn(t, newServerOn(t, st, api.Config{Store: counter}), yaml)
			counter.reset()
			d := f.gqlData(t, `{ customers(first: 100) { edges { node { id attributes { spend totals } properties { id } segments
				events(first: 2) { edges { node { id } } } recent: events(first: 1) { edges { node { id } } } } } } }`, nil)
			if n := len(at(d, "customers", "edges").([]any)); n != 5 {
				t.Fatalf("%d customers", n)
			}
			want := map[string]int{"CustomerPage": 1, "AttributeValuesOf": 1, "PropertyValuesOf": 1, "SegmentsOf": 1, "CustomerEvents": 2}
			if got := counter.reset(); !reflect.DeepEqual(got, want) {
				t.Errorf("reads: %v, want %v", got, want)
			}

			var orders []string
			for i := range 5 {
				orders = append(orders, fmt.Sprintf(`{"order_id":"o%d","buyer":"p%d@example.com"}`, i, i%3+1))
			}
			orders = append(orders, `{"order_id":"o8","buyer":"stranger@example.com"}`, `{"order_id":"o9"}`)
			if r := f.do(t, "POST", "/v1/objects/orders", jsonHeader, []byte("["+strings.Join(orders, ",")+"]")); r.status != 200 {
				t.Fatal(string(r.body))
			}
			counter.reset()
			d = f.gqlData(t, `{ orders(first: 10) { edges { node { order_id buyer buyer_customer { id attributes { spend } segments } } } } }`, nil)
			edges := at(d, "orders", "edges").([]any)
			if len(edges) != 7 {
				t.Fatalf("orders: %v", d)
			}
			for _, e := range edges {
				n := at(e, "node")
				switch buyer, _ := at(n, "buyer").(string); buyer {
				case "", "stranger@example.com":
					if at(n, "buyer_customer") != nil {
						t.Errorf("%v: a customer", n)
					}
				default:
					if at(n, "buyer_customer", "id") != f.ids[strings.TrimSuffix(buyer, "@example.com")] {
						t.Errorf("%v: another customer", n)
					}
				}
			}
			if got, want := counter.reset(), map[string]int{"CustomerGet": 1, "AttributeValuesOf": 1, "SegmentsOf": 1}; !reflect.DeepEqual(got, want) {
				t.Errorf("reads of the referenced customers: %v, want %v", got, want)
			}
			if v := at(edges[0], "node", "buyer_customer", "attributes", "spend"); v != 150.0 {
				t.Errorf("o0's buyer p1 spent %v", v)
			}
		})
	}
}

// TestGraphQLCustomerReferencesApply: a field referencing customers must
// name an identifier category and be a string, refused at apply with the
// field's place; the schema follows the config applied.
func TestGraphQLCustomerReferencesApply(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			obj := func(field string) string {
				return stitchYAML + "objects:\n  - name: orders\n    fields:\n      - {name: order_id, type: string, primary: true}\n      - " + field + "\n"
			}
			expectError(t, s.applyConfig(t, obj("{name: buyer, type: string, customer: phone}")), 400, "invalid_config",
				`objects[0].fields[1] (buyer): customer "phone" is not an identifier category (the stitching rules read anon_user_id, cookie, email, user_id)`)
			expectError(t, s.applyConfig(t, obj("{name: buyer, type: number, customer: email}")), 400, "invalid_config",
				"objects[0].fields[1] (buyer): a field referencing customers (customer: email) must be of type string, not number")
			expectError(t, s.applyConfig(t, obj("{name: buyer, type: string, customer: email}\n      - {name: buyer_customer, type: string}")), 400, "invalid_config",
				`objects[0].fields[1] (buyer): references customers, and GraphQL resolves it in a field "buyer_customer", which is also the name of a declared field`)
			if r := s.applyConfig(t, obj("{name: buyer, type: string, customer: email}")); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			if status, a := s.graphQL(t, `{ customer(identifier: "email:x") { attributes { spend } } }`, nil); status != 200 || len(a.Errors) != 1 ||
				!strings.Contains(a.Errors[0].Message, `Cannot query field "spend" on type "CustomerAttributes"`) {
				t.Errorf("before spend is defined: %d %+v", status, a)
			}
			if r := s.applyConfig(t, obj("{name: buyer, type: string, customer: email}")+"attributes:\n  - {id: spend, type: sum, value: \"(payload->>'total')::numeric\"}\n"); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			s.gqlData(t, `{ customer(identifier: "email:x") { attributes { spend } } orders { edges { node { buyer_customer { id } } } } }`, nil)

			// An object type named customers keeps its query field; customer
			// still answers.
			if r := s.applyConfig(t, stitchYAML+"objects:\n  - name: customers\n    fields:\n      - {name: customer_id, type: string, primary: true}\n"); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			s.do(t, "POST", "/v1/objects/customers", jsonHeader, []byte(`[{"customer_id":"c1"}]`))
			d := s.gqlData(t, `{ customers { edges { node { customer_id } } } customer(identifier: "email:x") { id } }`, nil)
			if at(d, "customers", "edges", 0, "node", "customer_id") != "c1" {
				t.Errorf("object type customers: %v", d)
			}
		})
	}
}

// TestGraphQLCustomerResolves: customer(identifier:) with an id merged
// away answers its survivor with merged_from, and with an id that split
// its parts, as GET /v1/entities/{id} does.
func TestGraphQLCustomerResolves(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, ann, bob := identityServer(t, backend)
			merges, err := s.store.EntityMerges(context.Background(), ann)
			if err != nil || len(merges) == 0 {
				t.Fatalf("ann has no merge: %v %v", merges, err)
			}
			loser := merges[0].Loser
			gone := strings.Repeat("a", 32)
			splitRow(t, s, gone, `["`+ann+`", "`+bob+`"]`, time.Now().UTC().Add(time.Hour))
			q := `query($id: String!) { customer(identifier: $id) { id merged_from split_into events_count parts { id events_count identifiers(category: "cookie") { value } } } }`
			c := s.gqlData(t, q, map[string]any{"id": loser})["customer"]
			if at(c, "id") != ann || at(c, "merged_from") != loser || at(c, "events_count") != 4.0 || at(c, "split_into") != nil {
				t.Errorf("merged id: %v", c)
			}
			c = s.gqlData(t, q, map[string]any{"id": gone})["customer"]
			parts := []string{ann, bob}
			slices.Sort(parts)
			if at(c, "id") != gone || !reflect.DeepEqual(at(c, "split_into"), []any{ann, bob}) || at(c, "events_count") != nil ||
				at(c, "parts", 0, "id") != parts[0] || at(c, "parts", 1, "id") != parts[1] {
				t.Errorf("split id: %v", c)
			}
			// An identifier row naming an entity merged away (EntityFind
			// follows merges from such rows too) resolves to the survivor,
			// in a query with a live one.
			if _, err := s.store.ExecContext(context.Background(), `UPDATE identifiers SET entity_id = $1 WHERE category = 'cookie' AND value = 'c5'`, loser); err != nil {
				t.Fatal(err)
			}
			if err := store.ComputeEntityKeys(context.Background(), s.store, s.store.Capabilities()); err != nil {
				t.Fatal(err)
			}
			d := s.gqlData(t, `{ a: customer(identifier: "cookie:c1") { id } b: customer(identifier: "cookie:c5") { id merged_from } }`, nil)
			if at(d, "a", "id") != ann || at(d, "b", "id") != ann || at(d, "b", "merged_from") != nil {
				t.Errorf("by cookie: %v", d)
			}
			for _, p := range at(c, "parts").([]any) {
				if p := p.(map[string]any); p["id"] == bob && at(p, "identifiers", 0, "value") != "c3" {
					t.Errorf("bob's cookies: %v", p)
				}
			}
		})
	}
}
