package api_test

import (
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
)

const previewYAML = `stitching:
  rules:
    - {identifier: email, event: web/purchase, value_expression: "payload->>'email'"}
attributes:
  - {id: spent, type: sum, value: "(payload->>'total')::numeric"}
  - {id: orders, type: num_of_unique, value: "id"}
segments:
  - id: buyers
    name: Buyers
    condition:
      all:
        - {attribute: orders, op: ">=", value: 1}
        - {event: web/purchase, last: 3650d, where: "payload->>'total' <> '0'", sum: {field: "(payload->>'total')::numeric", op: ">", value: 5}}
  - {id: big, condition: {all: [{segment: buyers}, {attribute: spent, op: ">=", value: 10}]}}
`

// PUT /v1/config refuses bad segments with the segment and the path
// named, and changes nothing; POST /v1/segments/preview counts the
// members of a tree not saved and samples their profiles.
func TestSegmentsConfigAndPreview(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			if r := s.do(t, "PUT", "/v1/config", nil, []byte(previewYAML)); r.status != 200 {
				t.Fatalf("apply: %s", r.body)
			}
			before := s.do(t, "GET", "/v1/config", nil, nil)
			bad := []struct{ from, to, want string }{
				{`{attribute: spent, op: ">=", value: 10}`, `{attribute: spend, op: ">=", value: 10}`,
					`segments[big].condition.all[1].attribute: unknown attribute "spend"`},
				{`{attribute: spent, op: ">=", value: 10}`, `{attribute: spent, op: ">=", value: "10"}`,
					`segments[big].condition.all[1].value: "10" is a string; want a number`},
				{`{segment: buyers}`, `{segment: bigger}`, `segments[big].condition.all[0].segment: unknown segment "bigger"`},
				{`- {attribute: orders, op: ">=", value: 1}`, `- {not: {segment: big}}`, `segments[buyers].condition: segments refer to each other in a cycle: buyers -> big -> buyers`},
				// Found only by the database: the SQL does not run.
				{`payload->>'total' <> '0'`, `payload->>'total' <> `, `segments[buyers].condition.all[1].where: `},
				{`field: "(payload->>'total')::numeric"`, `field: "no_such_column + 1"`, `segments[buyers].condition.all[1].sum.field: `},
				{`field: "(payload->>'total')::numeric"`, `field: "(SELECT count(*) FROM plugin_keys)"`, `segments[buyers].condition.all[1].sum.field: `},
				{`{segment: buyers}`, `{property: scorer/20260101T000000Z/score, op: ">", value: 0.5}`,
					`segments[big].condition.all[0].property: no published property "scorer/20260101T000000Z/score"`},
				{`{segment: buyers}`, `{property: scorer/score, op: ">", value: 0.5}`,
					`segments[big].condition.all[0].property: no plugin "scorer" is declared and no property "scorer/score" was published`},
			}
			for _, b := range bad {
				if !strings.Contains(previewYAML, b.from) {
					t.Fatalf("%q is not in the config", b.from)
				}
				if backend == "duckdb" && strings.Contains(b.to, "plugin_keys") {
					continue // DuckDB config SQL may read every table but secrets; PostgreSQL's role reads customer data only
				}
				doc := strings.Replace(previewYAML, b.from, b.to, 1)
				expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte(doc)), 400, "invalid_config", b.want)
			}
			if after := s.do(t, "GET", "/v1/config", nil, nil); string(after.body) != string(before.body) {
				t.Fatalf("a refused config changed the config in force:\n%s\n%s", before.body, after.body)
			}
			events := []string{
				rec("p1", "purchase", 1, `{"email":"a@x","total":"10.5"}`),
				rec("p2", "purchase", 2, `{"email":"a@x","total":"2"}`),
				rec("p3", "purchase", 3, `{"email":"b@x","total":"7"}`),
				rec("p4", "purchase", 4, `{"email":"c@x","total":"1"}`),
			}
			if r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(events, "\n"))); r.status != 200 {
				t.Fatalf("ingest: %s", r.body)
			}
			for _, path := range []string{"/v1/stitching/run", "/v1/attributes/run"} {
				if r := s.do(t, "POST", path, nil, []byte(`{}`)); r.status != 200 {
					t.Fatalf("%s: %s", path, r.body)
				}
			}
			type preview struct {
				Count  int64 `json:"count"`
				Sample []struct {
					EntityID    string              `json:"entity_id"`
					Identifiers map[string][]string `json:"identifiers"`
					Attributes  map[string]any      `json:"attributes"`
				} `json:"sample"`
			}
			p := decode[preview](t, s.do(t, "POST", "/v1/segments/preview", nil,
				[]byte(`{"condition": {"all": [{"segment": "buyers"}, {"attribute": "spent", "op": "<", "value": 13}]}}`)))
			if p.Count != 2 || len(p.Sample) != 2 {
				t.Fatalf("preview: %+v", p)
			}
			emails := map[string]bool{}
			for _, m := range p.Sample {
				emails[m.Identifiers["email"][0]] = true
				if m.EntityID == "" || m.Attributes["orders"] == nil {
					t.Errorf("sample row %+v", m)
				}
			}
			if !emails["b@x"] || !emails["a@x"] {
				t.Errorf("sample %+v", p.Sample)
			}
			if p.Sample[0].EntityID >= p.Sample[1].EntityID {
				t.Errorf("the sample is not in id order: %+v", p.Sample)
			}
			expectError(t, s.do(t, "POST", "/v1/segments/preview", nil, []byte(`{"condition": {"any": [{"identifier": "email"}, {"attribute": "spend", "op": "is_set"}]}}`)),
				400, "invalid_condition", `segments[preview].condition.any[1].attribute: unknown attribute "spend"`)
			expectError(t, s.do(t, "POST", "/v1/segments/preview", nil, []byte(`{"condition": {"attribute": "orders", "op": ">", "value": 1.5}}`)),
				400, "invalid_condition", `segments[preview].condition.value: 1.5 is not an integer`)
			expectError(t, s.do(t, "POST", "/v1/segments/preview", nil, []byte(`{}`)), 400, "bad_request", "condition")
			expectError(t, s.do(t, "POST", "/v1/segments/preview", nil, []byte(`{"condition": {"attribute": "orders", "op": "is_set"}, "x": 1}`)), 400, "bad_request", "x")
		})
	}
}
