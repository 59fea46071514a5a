package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/client"
)

func withKey(key string) map[string]string { return map[string]string{"x-api-key": key} }

// newKey creates a key with the admin key (or none, on an open API).
func (s *testServer) newKey(t *testing.T, admin, body string) client.CreatedKey {
	t.Helper()
	r := s.do(t, "POST", "/v1/keys", withKey(admin), []byte(body))
	if r.status != http.StatusCreated {
		t.Fatalf("POST /v1/keys %s: %d %s", body, r.status, r.body)
	}
	return decode[client.CreatedKey](t, r)
}

func TestKeysAPI(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := newServer(t, backend, api.Config{})
			// No key anywhere: open, as the quickstart needs.
			if r := s.do(t, "GET", "/v1/stats", nil, nil); r.status != 200 {
				t.Fatalf("open API: %d %s", r.status, r.body)
			}
			ops := s.newKey(t, "", `{"name":"ops","scopes":["admin"]}`)
			if !strings.HasPrefix(ops.Secret, "weft_") || !strings.HasPrefix(ops.Secret, ops.Prefix) || ops.ID == "" || ops.Name != "ops" ||
				len(ops.Scopes) != 1 || ops.Scopes[0] != "admin" || ops.Sources == nil || ops.CreatedAt.IsZero() || ops.LastUsedAt != nil {
				t.Fatalf("created %+v", ops)
			}
			// The first key closes the API.
			expectError(t, s.do(t, "GET", "/v1/stats", nil, nil), 401, "unauthorized", "missing x-api-key")
			expectError(t, s.do(t, "GET", "/v1/stats", withKey(ops.Secret[:len(ops.Secret)-1]), nil), 401, "unauthorized", "invalid x-api-key")
			if r := s.do(t, "GET", "/v1/stats", withKey(ops.Secret), nil); r.status != 200 {
				t.Fatalf("with the admin key: %d %s", r.status, r.body)
			}

			for _, c := range []struct {
				name, body string
				status     int
				code, msg  string
			}{
				{"unknown scope", `{"name":"a","scopes":["read","write"]}`, 400, "invalid_parameters", `unknown scope "write"`},
				{"empty name", `{"name":" ","scopes":["read"]}`, 400, "invalid_parameters", "name is empty"},
				{"no scopes", `{"name":"a"}`, 400, "invalid_parameters", "scopes is empty"},
				{"duplicate name", `{"name":"ops","scopes":["read"]}`, 409, "name_taken", `a live key is named "ops"`},
				{"sources without ingest", `{"name":"a","scopes":["read"],"sources":["web"]}`, 400, "invalid_parameters", "sources limit the ingest scope"},
				{"reserved name", `{"name":"open","scopes":["read"]}`, 400, "invalid_parameters", "reserved"},
				{"unknown field", `{"name":"a","scopes":["read"],"expires":"never"}`, 400, "invalid_body", `unknown field "expires"`},
				{"scopes not a list", `{"name":"a","scopes":"read"}`, 400, "invalid_body", "body must be a JSON object"},
				{"bad JSON", `{"name":`, 400, "invalid_body", "body must be a JSON object"},
				{"empty body", ``, 400, "invalid_body", "body is empty"},
				{"two objects", `{"name":"a","scopes":["read"]} {}`, 400, "invalid_body", "nothing after it"},
			} {
				t.Run(c.name, func(t *testing.T) {
					expectError(t, s.do(t, "POST", "/v1/keys", withKey(ops.Secret), []byte(c.body)), c.status, c.code, c.msg)
				})
			}

			reader := s.newKey(t, ops.Secret, `{"name":"reader","scopes":["read"]}`)
			if r := s.do(t, "GET", "/v1/events", withKey(reader.Secret), nil); r.status != 200 {
				t.Fatalf("read key on a read route: %d %s", r.status, r.body)
			}
			expectError(t, s.do(t, "PUT", "/v1/config", withKey(reader.Secret), []byte("{}")), 403, "forbidden", `key "reader" lacks scope "admin", which PUT /v1/config needs`)
			expectError(t, s.do(t, "GET", "/v1/keys", withKey(reader.Secret), nil), 403, "forbidden", `scope "admin"`)
			expectError(t, s.do(t, "POST", "/v1/events", withKey(reader.Secret), []byte(rec("a", "x", 0, "{}"))), 403, "forbidden", `scope "ingest"`)

			// The list: never the key nor its hash; last use once used.
			r := s.do(t, "GET", "/v1/keys", withKey(ops.Secret), nil)
			list := decode[struct {
				Keys []client.CreatedKey `json:"keys"`
			}](t, r).Keys
			if len(list) != 2 || list[0].Name != "ops" || list[1].Name != "reader" || list[0].LastUsedAt == nil || list[1].Prefix != reader.Prefix {
				t.Errorf("list %+v", list)
			}
			for _, k := range []string{ops.Secret, reader.Secret} {
				h := sha256.Sum256([]byte(k))
				if strings.Contains(string(r.body), k) || strings.Contains(string(r.body), hex.EncodeToString(h[:])) || strings.Contains(string(r.body), `"hash"`) || strings.Contains(string(r.body), `"key"`) {
					t.Fatalf("GET /v1/keys shows a key or its hash: %s", r.body)
				}
			}

			// Revoked: refused at once.
			expectError(t, s.do(t, "DELETE", "/v1/keys/nope", withKey(ops.Secret), nil), 404, "not_found", `no live key with id "nope"`)
			r = s.do(t, "DELETE", "/v1/keys/"+reader.ID, withKey(ops.Secret), nil)
			if got := decode[client.CreatedKey](t, r); r.status != 200 || got.ID != reader.ID || got.Name != "reader" || got.Secret != "" {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			expectError(t, s.do(t, "GET", "/v1/events", withKey(reader.Secret), nil), 401, "unauthorized", "invalid x-api-key")
			expectError(t, s.do(t, "DELETE", "/v1/keys/"+reader.ID, withKey(ops.Secret), nil), 404, "not_found", "no live key")
			// Its name is free again.
			s.newKey(t, ops.Secret, `{"name":"reader","scopes":["read"]}`)
		})
	}
}

// TestIngestKeySources: an ingest key limited to sources has the events
// of other sources rejected record by record, the good ones kept, and may
// not write objects.
func TestIngestKeySources(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := newServer(t, backend, api.Config{APIKeys: []string{"boot"}})
			web := s.newKey(t, "boot", `{"name":"web shop","scopes":["ingest","read"],"sources":["web","pos"]}`)
			body := strings.Join([]string{
				rec("e1", "page_view", 0, "{}"),
				`{"id":"e2","source_id":"crm","type":"page_view","version":"1-0-0","event_time":1767323045000,"payload":{}}`,
				`{"id":"e3","source_id":"pos","type":"sale","version":"1-0-0","event_time":1767323045000,"payload":{}}`,
				`{"id":"e4","source_id":"web","type":"page_view","version":"1-0-0","event_time":"soon","payload":{}}`,
			}, "\n")
			r := s.do(t, "POST", "/v1/events", withKey(web.Secret), []byte(body))
			res := decode[ingestResult](t, r)
			if r.status != 200 || res.Accepted != 2 || len(res.Rejected) != 2 {
				t.Fatalf("ingest with a web and pos key: %d %s", r.status, r.body)
			}
			if rj := res.Rejected[0]; rj.Index != 1 || rj.Field != "source_id" || !strings.Contains(rj.Error, `key "web shop" may not ingest events of source "crm" (its sources: pos, web)`) {
				t.Errorf("rejection %+v", rj)
			}
			if rj := res.Rejected[1]; rj.Index != 3 || rj.Field != "event_time" {
				t.Errorf("the other bad record: %+v", rj)
			}
			if st := s.stats(t); st.Events != 2 {
				t.Errorf("%d events stored, want 2", st.Events)
			}
			expectError(t, s.do(t, "POST", "/v1/objects/stores", map[string]string{"x-api-key": web.Secret, "Content-Type": "application/json"}, []byte(`[{"id":"s1"}]`)),
				403, "forbidden", `key "web shop" may ingest events of sources pos, web only`)
			// An unlimited ingest key takes every source.
			all := s.newKey(t, "boot", `{"name":"all","scopes":["ingest"]}`)
			r = s.do(t, "POST", "/v1/events", withKey(all.Secret), []byte(`{"id":"e5","source_id":"crm","type":"page_view","version":"1-0-0","event_time":1767323045000,"payload":{}}`))
			if res := decode[ingestResult](t, r); res.Accepted != 1 {
				t.Errorf("unlimited ingest key: %s", r.body)
			}
		})
	}
}

// TestMetricsAndHealthz: /metrics needs the read scope when keys are
// configured; /healthz needs none and says nothing but its status.
func TestMetricsAndHealthz(t *testing.T) {
	s := newServer(t, "duckdb", api.Config{APIKeys: []string{"boot"}})
	reader := s.newKey(t, "boot", `{"name":"prometheus","scopes":["read"]}`)
	ingest := s.newKey(t, "boot", `{"name":"ingest","scopes":["ingest"]}`)
	expectError(t, s.do(t, "GET", "/metrics", nil, nil), 401, "unauthorized", "missing x-api-key")
	expectError(t, s.do(t, "GET", "/metrics", withKey(ingest.Secret), nil), 403, "forbidden", `scope "read"`)
	if r := s.do(t, "GET", "/metrics", withKey(reader.Secret), nil); r.status != 200 || !strings.Contains(string(r.body), "weft_http_request_duration_seconds") {
		t.Errorf("metrics with a read key: %d", r.status)
	}
	r := s.do(t, "GET", "/healthz", nil, nil)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
		t.Errorf("healthz: %d %s, want 200 {\"status\":\"ok\"} and nothing else", r.status, r.body)
	}
	// An unknown /v1 route tells a client without a key nothing.
	expectError(t, s.do(t, "GET", "/v1/nope", nil, nil), 401, "unauthorized", "missing x-api-key")
	expectError(t, s.do(t, "GET", "/v1/nope", withKey(ingest.Secret), nil), 404, "not_found", "no route")
}

// TestMetricsApart: with the metrics served apart, the API has no
// /metrics and the metrics handler counts the API's requests.
func TestMetricsApart(t *testing.T) {
	st := openStore(t, "duckdb")
	apiHandler, metrics := api.NewHandlerWithMetrics(api.Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s := &testServer{Server: httptest.NewServer(apiHandler), store: st}
	t.Cleanup(s.Close)
	ms := httptest.NewServer(metrics)
	t.Cleanup(ms.Close)
	expectError(t, s.do(t, "GET", "/metrics", nil, nil), 404, "not_found", "no route")
	s.do(t, "GET", "/healthz", nil, nil)
	r := fetch(t, "GET", ms.URL+"/metrics", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `route="GET /healthz"`) {
		t.Errorf("metrics apart: %d, want the API's requests counted:\n%.2000s", r.status, r.body)
	}
}

// TestDeliveryConfigKeysAndStoredKeys: with delivery.api_keys set, /deliver
// takes them and stored keys with the delivery scope; the config keys open
// nothing else.
func TestDeliveryConfigKeysAndStoredKeys(t *testing.T) {
	s := newDeliveryServer(t, "duckdb", "delivery:\n  api_keys: [dk]\n", api.Config{APIKeys: []string{"sk"}})
	stored := s.newKey(t, "sk", `{"name":"sdk","scopes":["delivery"]}`)
	body := []byte(`{"insertion":[{"contentId":"a"}]}`)
	parseStrict(t, s.do(t, "POST", "/deliver", withKey(stored.Secret), body))
	parseStrict(t, s.do(t, "POST", "/deliver", withKey("dk"), body))
	expectError(t, s.do(t, "GET", "/v1/stats", withKey("dk"), nil), 401, "unauthorized", "invalid x-api-key")
	expectError(t, s.do(t, "GET", "/v1/stats", withKey(stored.Secret), nil), 403, "forbidden", `scope "read"`)
}
