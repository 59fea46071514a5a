package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/pipeline"
)

// Meiro CPS's force operations, forward-only rule changes and its unique
// rule index (specs/meiro_cps.md sections 3, 6, 8 and 12).

const meiroRules = `stitching:
  rules:
    - {identifier: email, event: web/signup, value_expression: "payload->>'email'"}
`

const meiroAttributes = `attributes:
  - {id: email_last, type: last, value: "payload->>'email'"}
  - {id: share, type: custom, data_type: float,
     query: "SELECT count(*) / CAST((SELECT value FROM context WHERE key = 'n_events') AS DOUBLE PRECISION) AS value FROM base"}
context:
  - {key: n_events, query: "SELECT count(*) FROM customer_events"}
`

// meiroServer is a server with the rules and attributes above applied.
func meiroServer(t *testing.T, backend string) *testServer {
	s := newServer(t, backend, api.Config{})
	if r := s.do(t, "PUT", "/v1/config", nil, []byte(meiroRules+meiroAttributes)); r.status != 200 {
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	return s
}

func (s *testServer) ingestAll(t *testing.T, lines ...string) {
	t.Helper()
	r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(lines, "\n")))
	if res := decode[ingestResult](t, r); res.Accepted != len(lines) {
		t.Fatalf("ingest: %s", r.body)
	}
}

func (s *testServer) stitchNow(t *testing.T, body string) pipeline.StitchResult {
	t.Helper()
	r := s.do(t, "POST", "/v1/stitching/run", nil, []byte(body))
	if r.status != 200 {
		t.Fatalf("stitching: %d %s", r.status, r.body)
	}
	return decode[pipeline.StitchResult](t, r)
}

func (s *testServer) calculate(t *testing.T, body string) attr.RunResult {
	t.Helper()
	r := s.do(t, "POST", "/v1/attributes/run", nil, []byte(body))
	if r.status != 200 {
		t.Fatalf("attributes: %d %s", r.status, r.body)
	}
	return decode[attr.RunResult](t, r)
}

func signup(id string, ms int, email string) string {
	return rec(id, "signup", ms, `{"email":"`+email+`"}`)
}

// expectHostileRefused sends bodies no JSON route may take to a route
// whose body is empty or {}.
func expectHostileRefused(t *testing.T, s *testServer, path string) {
	t.Helper()
	for _, b := range []struct{ body, msg string }{
		{`{"force": true}`, "unknown field"},
		{`[]`, "JSON object"},
		{`{"k": "\ud800"}`, "surrogate"},
		{`{"k": "a\u0000b"}`, `\u0000`},
		{strings.Repeat("[", 100000) + strings.Repeat("]", 100000), ""},
		{`{"k": 1` + strings.Repeat("0", 100000) + `}`, "more than the 1000 that can be stored"},
	} {
		r := s.do(t, "POST", path, nil, []byte(b.body))
		if r.status < 400 || r.status > 499 {
			t.Fatalf("POST %s with %.40q: %d %s, want 4xx", path, b.body, r.status, r.body)
		}
		if b.msg != "" {
			expectError(t, r, 400, "bad_request", b.msg)
		}
	}
}

// TestRefreshContext: a context value stands for 24 hours, and
// refresh-context runs its query at once; the attributes read the new
// value at their next calculation. Item 13 of meiro_cps.md section 12.
func TestRefreshContext(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := meiroServer(t, backend)
			s.ingestAll(t, signup("s1", 0, "a@x.io"), signup("s2", 1000, "b@x.io"))
			s.stitchNow(t, "")
			if res := s.calculate(t, ""); len(res.Contexts) != 1 || !res.Contexts[0].Refreshed || res.Contexts[0].Value != "2" {
				t.Fatalf("first run's contexts: %+v", res.Contexts)
			}
			s.ingestAll(t, signup("s3", 2000, "a@x.io"), signup("s4", 3000, "c@x.io"))
			s.stitchNow(t, "")
			if res := s.calculate(t, ""); len(res.Contexts) != 1 || res.Contexts[0].Refreshed || res.Contexts[0].Value != "2" {
				t.Fatalf("a run within 24 hours refreshed the context: %+v", res.Contexts)
			}

			r := s.do(t, "POST", "/v1/attributes/refresh-context", nil, nil)
			got := decode[attr.ContextRefresh](t, r)
			if r.status != 200 || got.Refreshed != 1 || got.Failed != 0 || len(got.Contexts) != 1 ||
				got.Contexts[0].Key != "n_events" || got.Contexts[0].Value != "4" || got.DurationMS <= 0 {
				t.Fatalf("refresh-context: %d %s", r.status, r.body)
			}
			// The next calculation reads 4, not 2: a@x.io has 2 of 4 events.
			s.calculate(t, `{"recalculate_all": true}`)
			a := decode[struct {
				Attributes map[string]any `json:"attributes"`
			}](t, s.do(t, "GET", "/v1/entities?identifier=email:a@x.io", nil, nil))
			if a.Attributes["share"] != 0.5 {
				t.Fatalf("share after the refresh: %v", a.Attributes)
			}
			// An empty object is an empty body.
			if r := s.do(t, "POST", "/v1/attributes/refresh-context", map[string]string{"Content-Type": "application/json"}, []byte(`{}`)); r.status != 200 {
				t.Fatalf("refresh-context with {}: %d %s", r.status, r.body)
			}
			expectHostileRefused(t, s, "/v1/attributes/refresh-context")
			entries := s.audit(t, "", "action=attributes.refresh_context")
			if len(entries) == 0 || !slices.ContainsFunc(entries, func(e audit.Entry) bool {
				return e.Status == 200 && e.Summary == fmt.Sprintf("refreshed 1 context queries (0 failed) in %.0f ms", got.DurationMS)
			}) {
				t.Fatalf("audit entries: %+v", entries)
			}
		})
	}
}

// TestRefreshContextFailure: a query that fails keeps its old value and
// is reported; the others are refreshed.
func TestRefreshContextFailure(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			cfg := meiroRules + meiroAttributes + "  - {key: bad, query: \"SELECT CAST(max(payload->>'email') AS INTEGER) FROM customer_events\"}\n"
			if r := s.do(t, "PUT", "/v1/config", nil, []byte(cfg)); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			s.ingestAll(t, signup("s1", 0, "a@x.io"))
			s.stitchNow(t, "")
			got := decode[attr.ContextRefresh](t, s.do(t, "POST", "/v1/attributes/refresh-context", nil, nil))
			if got.Refreshed != 1 || got.Failed != 1 || len(got.Contexts) != 2 || got.Contexts[1].Key != "bad" || got.Contexts[1].Error == "" ||
				got.Contexts[0].Value != "1" {
				t.Fatalf("refresh-context with a failing query: %+v", got)
			}
		})
	}
}

// TestRefreshCaches: the caches count again from the values when forced,
// whatever they held. Item 14 of meiro_cps.md section 12.
func TestRefreshCaches(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := meiroServer(t, backend)
			s.ingestAll(t, signup("s1", 0, "a@x.io"), signup("s2", 1000, "b@x.io"), signup("s3", 2000, "a@x.io"))
			s.stitchNow(t, "")
			s.calculate(t, "")
			values := func() string {
				r := s.do(t, "GET", "/v1/attributes/email_last/values", nil, nil)
				if r.status != 200 {
					t.Fatalf("values: %d %s", r.status, r.body)
				}
				return string(r.body)
			}
			want := values()
			if !strings.Contains(want, `"customers":2`) {
				t.Fatalf("values after the run: %s", want)
			}
			ctx := context.Background()
			for _, q := range []string{"UPDATE attribute_customers_cache SET customers_count = 99", "DELETE FROM attribute_values_counts"} {
				if _, err := s.store.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if got := values(); got == want {
				t.Fatalf("the caches were not spoilt: %s", got)
			}
			r := s.do(t, "POST", "/v1/attributes/refresh-caches", nil, nil)
			got := decode[attr.CacheRefresh](t, r)
			wantCounts := []attr.CacheCount{{ID: "email_last", Customers: 2, Values: 2}, {ID: "share", Customers: 2, Values: 2}}
			if r.status != 200 || !slices.Equal(got.Attributes, wantCounts) || got.DurationMS <= 0 {
				t.Fatalf("refresh-caches: %d %s", r.status, r.body)
			}
			if got := values(); got != want {
				t.Fatalf("values after refresh-caches: %s, want %s", got, want)
			}
			expectHostileRefused(t, s, "/v1/attributes/refresh-caches")
			entries := s.audit(t, "", "action=attributes.refresh_caches")
			if !slices.ContainsFunc(entries, func(e audit.Entry) bool {
				return e.Status == 200 && strings.HasPrefix(e.Summary, "recounted the caches of 2 attributes in ")
			}) {
				t.Fatalf("audit entries: %+v", entries)
			}
		})
	}
}

type entityEvents struct {
	ID          string `json:"id"`
	EventsCount int64  `json:"events_count"`
}

// TestApplyForwardOnly: with ?stitching=forward a new rule links the
// events stitched from then on, and the earlier ones stay as they were
// until a rebuild; without it (or with stitching=rebuild) the change
// rebuilds. Item 8 of meiro_cps.md section 12.
func TestApplyForwardOnly(t *testing.T) {
	visitRule := "    - {identifier: email, event: web/visit, value_expression: \"payload->>'email'\"}\n"
	buyRule := "    - {identifier: email, event: web/buy, value_expression: \"payload->>'email'\"}\n"
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			apply := func(query, doc string) pipeline.Applied {
				t.Helper()
				r := s.do(t, "PUT", "/v1/config"+query, nil, []byte(doc))
				if r.status != 200 {
					t.Fatalf("apply%s: %d %s", query, r.status, r.body)
				}
				return decode[pipeline.Applied](t, r)
			}
			ann := func() int64 {
				t.Helper()
				return decode[entityEvents](t, s.do(t, "GET", "/v1/entities?identifier=email:ann@x.io", nil, nil)).EventsCount
			}
			apply("", meiroRules)
			s.ingestAll(t, signup("s1", 0, "ann@x.io"), rec("v1", "visit", 1000, `{"email":"ann@x.io"}`))
			s.stitchNow(t, "")
			if n := ann(); n != 1 {
				t.Fatalf("ann before the visit rule: %d events", n)
			}

			a := apply("?stitching=forward", meiroRules+visitRule)
			if !a.StitchingForward || a.StitchingRebuild || len(a.Warnings) != 0 {
				t.Fatalf("forward apply: %+v", a)
			}
			s.ingestAll(t, rec("v2", "visit", 2000, `{"email":"ann@x.io"}`))
			if res := s.stitchNow(t, ""); res.FromScratch || res.EventsProcessed != 1 {
				t.Fatalf("the pass after a forward apply: %+v", res)
			}
			if n := ann(); n != 2 {
				t.Fatalf("ann after a forward apply: %d events, want 2 (s1, v2; v1 is not linked again)", n)
			}
			if res := s.stitchNow(t, `{"from_scratch": true}`); !res.FromScratch {
				t.Fatalf("from scratch: %+v", res)
			}
			if n := ann(); n != 3 {
				t.Fatalf("ann after a rebuild: %d events, want 3", n)
			}

			// The default, and stitching=rebuild, rebuild.
			for i, q := range []string{"", "?stitching=rebuild"} {
				doc := meiroRules + visitRule
				if i == 0 {
					doc += buyRule
				}
				if a := apply(q, doc); !a.StitchingRebuild || a.StitchingForward {
					t.Fatalf("apply%s: %+v", q, a)
				}
				if res := s.stitchNow(t, ""); !res.FromScratch {
					t.Fatalf("the pass after apply%s: %+v", q, res)
				}
			}

			// A rebuild already due stays due: forward-only cannot keep
			// entities built under older rules than those in force.
			apply("", meiroRules+visitRule+buyRule)
			if a := apply("?stitching=forward", meiroRules); !a.StitchingRebuild || a.StitchingForward ||
				!slices.Contains(a.Warnings, pipeline.ForwardPendingWarning) {
				t.Fatalf("forward with a rebuild due: %+v", a)
			}
			if res := s.stitchNow(t, ""); !res.FromScratch {
				t.Fatalf("the pending rebuild did not run: %+v", res)
			}
			// Unchanged rules: nothing to say either way.
			if a := apply("?stitching=forward", meiroRules); a.StitchingRebuild || a.StitchingForward {
				t.Fatalf("forward with the same rules: %+v", a)
			}

			version := s.do(t, "GET", "/v1/config", nil, nil).header.Get("Weft-Config-Version")
			expectError(t, s.do(t, "PUT", "/v1/config?stitching=sideways", nil, []byte(meiroRules+visitRule)), 400, "bad_request",
				`stitching: "sideways" is not a way to apply stitching rules (rebuild, the default, or forward)`)
			expectError(t, s.do(t, "PUT", "/v1/config?stitching=forward&stitching=rebuild", nil, []byte(meiroRules+visitRule)), 400, "bad_request", "stitching: give it once")
			if v := s.do(t, "GET", "/v1/config", nil, nil).header.Get("Weft-Config-Version"); v != version {
				t.Fatalf("a refused apply changed the version from %s to %s", version, v)
			}
			entries := s.audit(t, "", "action=config.apply")
			if !slices.ContainsFunc(entries, func(e audit.Entry) bool {
				return strings.HasSuffix(e.Summary, "(stitching rules forward-only: earlier events not re-linked)")
			}) {
				t.Fatalf("no audit entry says forward-only: %+v", entries)
			}
		})
	}
}

// TestDuplicateRulesRefused: two rules of one identifier over one event
// are refused, naming both, as Meiro's unique index on
// stitching_attributes_config (event_id, attribute_id) refuses them.
func TestDuplicateRulesRefused(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			dup := meiroRules + "    - {identifier: cookie, event: web/signup, value_expression: \"payload->>'cookie'\"}\n" +
				"    - {identifier: email, event: web/signup, value_expression: \"lower(payload->>'email')\"}\n"
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte(dup)), 400, "invalid_config",
				"stitching.rules[0] (email from web/signup): stitching.rules[2] (email from web/signup) also reads identifier email from event web/signup: one rule per identifier and event")
			// A rule written over what the delivery section derives.
			derived := meiroRules + "    - {identifier: user_id, event: delivery/*, value_expression: \"payload->>'userId'\"}\n"
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte(derived)), 400, "invalid_config",
				"stitching.rules[1] (user_id from delivery/*): the rule derived from the config (user_id from delivery/*) also reads")
			if v := s.do(t, "GET", "/v1/config", nil, nil).header.Get("Weft-Config-Version"); v != "0" {
				t.Fatalf("a refused config was applied: version %s", v)
			}
			// Another version, or every version, of the event is another event.
			ok := meiroRules + "    - {identifier: email, event: web/signup/1-0-0, value_expression: \"lower(payload->>'email')\"}\n" +
				"    - {identifier: cookie, event: web/signup, value_expression: \"payload->>'cookie'\"}\n"
			if r := s.do(t, "PUT", "/v1/config", nil, []byte(ok)); r.status != 200 {
				t.Fatalf("rules over different events: %d %s", r.status, r.body)
			}
		})
	}
}
