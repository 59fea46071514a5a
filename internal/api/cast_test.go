package api_test

import (
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
)

// GET /v1/attributes shows how many values did not convert in an
// attribute's casts in its last run, with an example event.
func TestAttributesListCastFailures(t *testing.T) {
	const yaml = `stitching:
  rules:
    - {identifier: email, event: web/purchase, value_expression: "payload->>'email'"}
attributes:
  - {id: spent, type: sum, value: "(payload->>'total')::numeric"}
  - {id: orders, type: num_of_unique, value: "id"}
`
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			if r := s.do(t, "PUT", "/v1/config", nil, []byte(yaml)); r.status != 200 {
				t.Fatalf("apply: %s", r.body)
			}
			events := []string{
				rec("p1", "purchase", 1, `{"email":"a@x","total":"10.5"}`),
				rec("p2", "purchase", 2, `{"email":"a@x","total":"12,50"}`),
				rec("p3", "purchase", 3, `{"email":"b@x","total":"7"}`),
			}
			if r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(events, "\n"))); r.status != 200 {
				t.Fatalf("ingest: %s", r.body)
			}
			for _, path := range []string{"/v1/stitching/run", "/v1/attributes/run"} {
				if r := s.do(t, "POST", path, nil, []byte(`{}`)); r.status != 200 {
					t.Fatalf("%s: %s", path, r.body)
				}
			}
			list := decode[struct {
				Attributes []struct {
					ID, Status         string
					Customers          int64
					CastFailures       int64  `json:"cast_failures"`
					CastFailureEventID string `json:"cast_failure_event_id"`
				} `json:"attributes"`
			}](t, s.do(t, "GET", "/v1/attributes", nil, nil))
			if len(list.Attributes) != 2 {
				t.Fatalf("attributes: %+v", list.Attributes)
			}
			for _, a := range list.Attributes {
				want := a.ID == "spent"
				if a.Status != "ok" || a.Customers != 2 || (a.CastFailures == 1) != want || (a.CastFailureEventID == "p2") != want {
					t.Errorf("%+v", a)
				}
			}
		})
	}
}
