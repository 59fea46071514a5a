package api_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/worked"
)

const stitchYAML = `# stitching by cookie and email
stitching:
  rules:
    - identifier: cookie
      event: web/form_submit
      value_expression: payload->>'cookie'
    - identifier: email
      event: web/form_submit/1-0-0
      value_expression: lower(trim(payload->>'email'))
  identifiers:
    email:
      blocked_values: ["none"]
`

func TestConfigApplyAndGet(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			r := s.do(t, "GET", "/v1/config", nil, nil)
			if r.status != 200 || r.header.Get("Weft-Config-Version") != "0" || strings.TrimSpace(string(r.body)) != `{"stitching":{"rules":[]}}` {
				t.Fatalf("config before any apply: %d %s %v", r.status, r.body, r.header)
			}

			// Whole-config rejections name the part at fault; nothing changes.
			bad := []struct{ body, msg string }{
				{"stitching:\n  rulez: []\n", "field rulez not found"},
				{"", "empty"},
				{"stitching: [1, 2", "not a valid weft.yaml"},
				{strings.Replace(stitchYAML, "lower(trim(payload->>'email'))", "lower(trim(payload->>'email')", 1),
					"stitching.rules[1] (email from web/form_submit/1-0-0)"},
				{strings.Replace(stitchYAML, "payload->>'cookie'", "no_such_function(payload)", 1), "stitching.rules[0] (cookie from web/form_submit)"},
				{strings.Replace(stitchYAML, "    email:\n", "    emial:\n", 1), "stitching.identifiers.emial: no rule reads this identifier"},
				{strings.Replace(stitchYAML, "web/form_submit/1-0-0", "web", 1), "must be source/type"},
				{stitchYAML + "---\nstitching: {}\n", "more than one document"},
			}
			for _, b := range bad {
				expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte(b.body)), 400, "invalid_config", b.msg)
			}
			if v := s.do(t, "GET", "/v1/config", nil, nil).header.Get("Weft-Config-Version"); v != "0" {
				t.Fatalf("a rejected config changed the version to %s", v)
			}

			r = s.do(t, "PUT", "/v1/config", map[string]string{"Content-Type": "application/yaml"}, []byte(stitchYAML))
			applied := decode[pipeline.Applied](t, r)
			if r.status != 200 || applied.Version != 1 || !applied.StitchingRebuild {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			// JSON back, and the document as sent for YAML clients.
			r = s.do(t, "GET", "/v1/config", nil, nil)
			got := decode[struct {
				Stitching struct {
					Rules []struct{ Identifier, Event, ValueExpression string }
				}
			}](t, r)
			if r.header.Get("Weft-Config-Version") != "1" || len(got.Stitching.Rules) != 2 || !strings.Contains(string(r.body), `"value_expression":"lower(trim(payload->>'email'))"`) {
				t.Fatalf("config in force: %s", r.body)
			}
			r = s.do(t, "GET", "/v1/config", map[string]string{"Accept": "application/yaml"}, nil)
			if string(r.body) != stitchYAML || r.header.Get("Content-Type") != "application/yaml" {
				t.Fatalf("yaml: %q", r.body)
			}
			// The same rules as JSON: a new version, but nothing to rebuild.
			r = s.do(t, "PUT", "/v1/config", map[string]string{"Content-Type": "application/json"}, r2json(t, s))
			if a := decode[pipeline.Applied](t, r); r.status != 200 || a.Version != 2 || a.StitchingRebuild {
				t.Fatalf("re-apply as JSON: %d %s", r.status, r.body)
			}
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte(`{"stitching": {"rules": []}, "extra": 1}`)), 400, "invalid_config", "extra")
		})
	}
}

func r2json(t *testing.T, s *testServer) []byte {
	return s.do(t, "GET", "/v1/config", nil, nil).body
}

func formSubmit(id string, ms int, cookie, email string) string {
	return rec(id, "form_submit", ms, `{"cookie":"`+cookie+`","email":"`+email+`"}`)
}

type entity struct {
	ID             string              `json:"id"`
	Identifiers    map[string][]string `json:"identifiers"`
	EventsCount    int64               `json:"events_count"`
	FirstEventTime string              `json:"first_event_time"`
	LastEventTime  string              `json:"last_event_time"`
	MergedFrom     string              `json:"merged_from"`
}

func TestStitchingAndProfiles(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			if r := s.do(t, "PUT", "/v1/config", nil, []byte(stitchYAML)); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			ingest := func(lines ...string) {
				t.Helper()
				r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(lines, "\n")))
				if res := decode[ingestResult](t, r); res.Accepted != len(lines) {
					t.Fatalf("ingest: %s", r.body)
				}
			}
			run := func(body string) pipeline.StitchResult {
				t.Helper()
				r := s.do(t, "POST", "/v1/stitching/run", nil, []byte(body))
				if r.status != 200 {
					t.Fatalf("stitching run: %d %s", r.status, r.body)
				}
				return decode[pipeline.StitchResult](t, r)
			}
			// Two people on two devices, and a junk email that must not link.
			ingest(formSubmit("e1", 0, "c1", "Ann@x.io"), formSubmit("e2", 1000, "c2", "bob@x.io"),
				formSubmit("e3", 2000, "c3", "none"), formSubmit("e4", 3000, "c4", "none"))
			res := run("")
			if res.EventsProcessed != 4 || res.EntitiesCreated != 4 || res.Merges != 0 || !res.FromScratch {
				t.Fatalf("first run (a rebuild: new rules) %+v", res)
			}
			if r := s.do(t, "POST", "/v1/stitching/run", nil, []byte(`{"from_scratch": false}`)); decode[pipeline.StitchResult](t, r).EventsProcessed != 0 {
				t.Fatalf("nothing new: %s", r.body)
			}
			expectError(t, s.do(t, "POST", "/v1/stitching/run", nil, []byte(`{"fromScratch": true}`)), 400, "bad_request", "fromScratch")

			// Ann on device c3 links c3 to her; then one event carrying c2 and
			// c1 merges Bob's entity into Ann's (older: first event e1).
			ingest(formSubmit("e5", 4000, "c3", "ann@x.io"), formSubmit("e6", 5000, "c2", "ann@x.io"))
			res = run(`{"from_scratch": false}`)
			if res.EventsProcessed != 2 || res.EntitiesCreated != 0 || res.Merges != 2 || res.FromScratch {
				t.Fatalf("second run %+v", res)
			}
			r := s.do(t, "GET", "/v1/entities?identifier=email:ann@x.io", nil, nil)
			ann := decode[entity](t, r)
			want := map[string][]string{"cookie": {"c1", "c2", "c3"}, "email": {"ann@x.io", "bob@x.io"}}
			if r.status != 200 || !reflect.DeepEqual(ann.Identifiers, want) || ann.EventsCount != 5 || ann.MergedFrom != "" ||
				ann.FirstEventTime != "2026-01-02T03:04:05Z" || ann.LastEventTime != "2026-01-02T03:04:10Z" {
				t.Fatalf("ann: %d %s", r.status, r.body)
			}
			other := decode[entity](t, s.do(t, "GET", "/v1/entities?identifier=cookie:c4", nil, nil))
			if other.EventsCount != 1 || len(other.Identifiers["cookie"]) != 1 || other.ID == ann.ID {
				t.Fatalf("the entity of c4: %+v", other)
			}
			// Merged-away ids answer with the survivor.
			merges := decode[struct {
				EntityID string        `json:"entity_id"`
				Merges   []store.Merge `json:"merges"`
			}](t, s.do(t, "GET", "/v1/entities/"+ann.ID+"/merges", nil, nil))
			if merges.EntityID != ann.ID || len(merges.Merges) != 2 {
				t.Fatalf("merges %+v", merges)
			}
			for _, m := range merges.Merges {
				if m.Survivor != ann.ID || m.EventSeq == 0 || m.Category == "" {
					t.Errorf("merge %+v", m)
				}
				r := s.do(t, "GET", "/v1/entities/"+m.Loser, nil, nil)
				if got := decode[entity](t, r); got.ID != ann.ID || got.MergedFrom != m.Loser {
					t.Errorf("merged-away %s: %s", m.Loser, r.body)
				}
			}
			events := decode[struct {
				Events       []store.Event `json:"events"`
				NextAfterSeq int64         `json:"next_after_seq"`
			}](t, s.do(t, "GET", "/v1/entities/"+merges.Merges[0].Loser+"/events?limit=3", nil, nil))
			if len(events.Events) != 3 || events.Events[0].ID != "e1" || events.NextAfterSeq != events.Events[2].Seq {
				t.Fatalf("events page 1: %+v", events)
			}
			more := decode[struct {
				Events []store.Event `json:"events"`
			}](t, s.do(t, "GET", "/v1/entities/"+ann.ID+"/events?after_seq="+strconv.FormatInt(events.NextAfterSeq, 10), nil, nil))
			if len(more.Events) != 2 || more.Events[1].ID != "e6" {
				t.Fatalf("events page 2: %+v", more)
			}

			// Paging through live entities: Ann's and the one of c4.
			var ids []string
			after := ""
			for range 5 {
				page := decode[struct {
					Entities []entity `json:"entities"`
					Next     string   `json:"next"`
				}](t, s.do(t, "GET", "/v1/entities?limit=1&after="+after, nil, nil))
				for _, e := range page.Entities {
					ids = append(ids, e.ID)
				}
				if page.Next == "" {
					break
				}
				after = page.Next
			}
			if len(ids) != 2 || ids[0] >= ids[1] || (ids[0] != ann.ID && ids[1] != ann.ID) {
				t.Fatalf("live entities %v", ids)
			}

			expectError(t, s.do(t, "GET", "/v1/entities?identifier=email:nobody@x.io", nil, nil), 404, "not_found", "email:nobody@x.io")
			expectError(t, s.do(t, "GET", "/v1/entities?identifier=ann", nil, nil), 400, "bad_request", "category:value")
			expectError(t, s.do(t, "GET", "/v1/entities/nope", nil, nil), 404, "not_found", "nope")
			expectError(t, s.do(t, "GET", "/v1/entities/nope/merges", nil, nil), 404, "not_found", "nope")
			expectError(t, s.do(t, "GET", "/v1/entities?limit=0", nil, nil), 400, "bad_request", "limit")

			st := decode[store.Stats](t, s.do(t, "GET", "/v1/stats", nil, nil))
			if st.Entities != 2 || st.MergedEntities != 2 || st.Merges != 2 || st.StitchedSeq != st.MaxSeq ||
				st.Identifiers["cookie"] != 4 || st.Identifiers["email"] != 2 ||
				st.LargestEntity == nil || st.LargestEntity.ID != ann.ID || st.LargestEntity.Events != 5 ||
				st.Audit["blocked"] != (store.AuditCount{Values: 1, Events: 2}) {
				t.Fatalf("stats %+v", st)
			}

			// New rules (the cookie category renamed): the next run rebuilds.
			r = s.do(t, "PUT", "/v1/config", nil, []byte(strings.Replace(stitchYAML, "identifier: cookie", "identifier: device", 1)))
			if a := decode[pipeline.Applied](t, r); !a.StitchingRebuild {
				t.Fatalf("rules changed, no rebuild: %s", r.body)
			}
			if res := run(""); !res.FromScratch || res.EventsProcessed != 6 {
				t.Fatalf("after a rules change %+v", res)
			}
			if dev := decode[entity](t, s.do(t, "GET", "/v1/entities?identifier=device:c2", nil, nil)); dev.ID != ann.ID || dev.EventsCount != 5 {
				t.Fatalf("rebuilt under new rules: %+v", dev)
			}
		})
	}
}

func TestAttributesAPI(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			bad := strings.Replace(worked.Config, "payload->>'first_name'", "payload->>>'first_name'", 1)
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte(bad)), 400, "invalid_config", "attributes[crm_first_name_last]")
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte(worked.Config+"  - {id: x, type: sum, data_type: string, value: \"1\"}\n")), 400, "invalid_config", "attributes[x].data_type: sum needs a number")
			if r := s.do(t, "PUT", "/v1/config", nil, []byte(worked.Config)); r.status != 200 {
				t.Fatalf("apply: %s", r.body)
			}
			if r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(worked.Events, "\n"))); r.status != 200 {
				t.Fatalf("ingest: %s", r.body)
			}
			if r := s.do(t, "POST", "/v1/stitching/run", nil, nil); r.status != 200 || !strings.Contains(string(r.body), `"events_processed":`) {
				t.Fatalf("stitching run: %d %s", r.status, r.body)
			}
			r := s.do(t, "POST", "/v1/attributes/run", nil, []byte(`{}`))
			run := decode[attr.RunResult](t, r)
			if r.status != 200 || len(run.Attributes) != 16 || run.Attributes[0].Status != "ok" || !run.Attributes[0].Full {
				t.Fatalf("attributes run: %d %s", r.status, r.body)
			}
			r = s.do(t, "GET", "/v1/entities?identifier=stitching_email:jane@example.com", nil, nil)
			jane := decode[struct {
				Attributes map[string]any `json:"attributes"`
			}](t, r)
			want := map[string]any{"eshop_revenue_sum": 200.0, "purchases_custom": 2.0, "fav_category": "shoes",
				"emails_list": []any{"jane@example.com"}, "shoe_skus": []any{"S1", "S2"}, "categories_count": 2.0}
			for k, v := range want {
				if !reflect.DeepEqual(jane.Attributes[k], v) {
					t.Errorf("%s = %#v, want %#v", k, jane.Attributes[k], v)
				}
			}

			list := decode[struct {
				Attributes []struct {
					ID, Status, DataType string
					Customers            int64
				} `json:"attributes"`
			}](t, s.do(t, "GET", "/v1/attributes", nil, nil))
			if len(list.Attributes) != 16 || list.Attributes[0].ID != "web_url_first" || list.Attributes[0].Customers != 2 || list.Attributes[0].Status != "ok" {
				t.Errorf("attributes: %+v", list.Attributes)
			}
			values := decode[struct {
				Customers int64 `json:"customers"`
				Values    []struct {
					Value any   `json:"value"`
					Count int64 `json:"count"`
				} `json:"values"`
			}](t, s.do(t, "GET", "/v1/attributes/purchases_custom/values", nil, nil))
			if values.Customers != 3 || len(values.Values) != 2 || values.Values[0].Value != 0.0 || values.Values[0].Count != 2 {
				t.Errorf("purchases_custom values: %+v", values)
			}

			expectError(t, s.do(t, "GET", "/v1/attributes/nope/values", nil, nil), 404, "not_found", "nope")
			expectError(t, s.do(t, "POST", "/v1/attributes/run", nil, []byte(`{"only": ["nope"]}`)), 400, "bad_request", `"nope"`)
			expectError(t, s.do(t, "POST", "/v1/attributes/run", nil, []byte(`{"from_scratch": true, "recalculate_all": true}`)), 400, "bad_request", "exclude")
			r = s.do(t, "POST", "/v1/attributes/run", nil, []byte(`{"only": ["fav_category"], "recalculate_all": true}`))
			if run := decode[attr.RunResult](t, r); len(run.Attributes) != 1 || !run.Attributes[0].Full || run.Attributes[0].Entities != 3 {
				t.Errorf("only one, recalculated: %s", r.body)
			}
		})
	}
}
