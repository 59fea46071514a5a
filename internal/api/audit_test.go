package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/kv"
)

func (s *testServer) audit(t *testing.T, key, query string) []audit.Entry {
	t.Helper()
	r := s.do(t, "GET", "/v1/audit?"+query, withKey(key), nil)
	if r.status != 200 {
		t.Fatalf("GET /v1/audit?%s: %d %s", query, r.status, r.body)
	}
	return decode[struct {
		Entries []audit.Entry `json:"entries"`
	}](t, r).Entries
}

func TestAuditTrail(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			st := openStore(t, backend)
			secrets, err := kv.NewSecrets(st, []byte(strings.Repeat("k", 32)), nil)
			if err != nil {
				t.Fatal(err)
			}
			s := newServerOn(t, st, api.Config{APIKeys: []string{"boot"}, Settings: kv.NewSettings(st, nil), Secrets: secrets})
			json := map[string]string{"Content-Type": "application/json"}
			call := func(method, path, key, requestID, body string) response {
				t.Helper()
				h := map[string]string{"x-api-key": key, api.RequestIDHeader: requestID}
				for k, v := range json {
					h[k] = v
				}
				return s.do(t, method, path, h, []byte(body))
			}

			if r := call("PUT", "/v1/config", "boot", "req-config", "{}"); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			r := call("POST", "/v1/keys", "boot", "req-ops", `{"name":"ops","scopes":["admin"]}`)
			ops := decode[client.CreatedKey](t, r)
			reader := decode[client.CreatedKey](t, call("POST", "/v1/keys", ops.Secret, "req-reader", `{"name":"reader","scopes":["read"]}`))
			if r := call("PUT", "/v1/secrets/crm", ops.Secret, "req-secret", `{"token":"s3cr3t-value"}`); r.status != 200 {
				t.Fatalf("secret: %d %s", r.status, r.body)
			}
			afterSecret := time.Now().UTC()
			time.Sleep(10 * time.Millisecond)
			call("PUT", "/v1/config", "", "req-nokey", "{}")                          // 401
			call("DELETE", "/v1/keys/"+ops.ID, reader.Secret, "req-forbidden", "")    // 403
			call("POST", "/v1/keys", ops.Secret, "req-bad", `{"name":"x","scopes":[`) // 400
			if r := call("POST", "/v1/stitching/run", ops.Secret, "req-stitch", ""); r.status != 200 {
				t.Fatalf("stitching: %d %s", r.status, r.body)
			}
			if r := call("DELETE", "/v1/keys/"+reader.ID, ops.Secret, "req-revoke", ""); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			// Reads and ingestion are not changes of the trail's kind.
			call("GET", "/v1/config", ops.Secret, "req-read", "")
			call("GET", "/v1/keys", ops.Secret, "req-read", "")
			call("POST", "/v1/events", ops.Secret, "req-ingest", rec("a", "x", 0, "{}"))
			call("POST", "/v1/graphql", ops.Secret, "req-graphql", `{"query":"{ _types }"}`)

			entries := s.audit(t, ops.Secret, "")
			want := []struct {
				requestID, key, action, route string
				status                        int
				summary                       string
			}{
				{"req-revoke", "ops", "keys.revoke", "/v1/keys/{id}", 200, `revoked key "reader" (id ` + reader.ID},
				{"req-stitch", "ops", "stitching.run", "/v1/stitching/run", 200, ""},
				{"req-bad", "ops", "keys.create", "/v1/keys", 400, "body must be a JSON object"},
				{"req-forbidden", "reader", "keys.revoke", "/v1/keys/{id}", 403, `key "reader" lacks scope "admin"`},
				{"req-nokey", "", "config.apply", "/v1/config", 401, "missing x-api-key header"},
				{"req-secret", "ops", "secrets.put", "/v1/secrets/{key}", 200, "key=crm"},
				{"req-reader", "ops", "keys.create", "/v1/keys", 201, `created key "reader" (id ` + reader.ID + ", prefix " + reader.Prefix + ", scopes read)"},
				{"req-ops", "bootstrap", "keys.create", "/v1/keys", 201, `created key "ops"`},
				{"req-config", "bootstrap", "config.apply", "/v1/config", 200, "applied config version 1"},
			}
			if len(entries) != len(want) {
				t.Fatalf("%d entries, want %d: %+v", len(entries), len(want), entries)
			}
			for i, w := range want {
				e := entries[i]
				if e.RequestID != w.requestID || e.KeyName != w.key || e.Action != w.action || e.Route != w.route || e.Status != w.status || !strings.Contains(e.Summary, w.summary) {
					t.Errorf("entry %d: %+v, want %+v", i, e, w)
				}
				if e.At.IsZero() || time.Since(e.At) > time.Minute || e.ID == 0 {
					t.Errorf("entry %d has no time or id: %+v", i, e)
				}
				for _, secret := range []string{ops.Secret, reader.Secret, "s3cr3t-value"} {
					if strings.Contains(e.Summary, secret) {
						t.Errorf("entry %d shows a secret: %q", i, e.Summary)
					}
				}
			}
			if entries[0].KeyID != ops.ID || entries[8].KeyID != "" || entries[5].Path != "/v1/secrets/crm" || entries[5].Method != "PUT" {
				t.Errorf("key ids and paths: %+v / %+v / %+v", entries[0], entries[8], entries[5])
			}

			// Filters.
			if got := s.audit(t, ops.Secret, "action=keys.create"); len(got) != 3 || got[0].RequestID != "req-bad" {
				t.Errorf("action filter: %+v", got)
			}
			since := s.audit(t, ops.Secret, "since="+url.QueryEscape(afterSecret.Format(time.RFC3339Nano)))
			if len(since) != 5 || since[4].RequestID != "req-nokey" {
				t.Errorf("since filter: %d entries %+v", len(since), since)
			}
			if got := s.audit(t, ops.Secret, "limit=2"); len(got) != 2 || got[1].RequestID != "req-stitch" {
				t.Errorf("limit: %+v", got)
			}
			expectError(t, s.do(t, "GET", "/v1/audit?since=yesterday", withKey(ops.Secret), nil), 400, "bad_request", "since must be an RFC 3339 time")
			expectError(t, s.do(t, "GET", "/v1/audit?limit=0", withKey(ops.Secret), nil), 400, "bad_request", "limit must be an integer from 1 to 1000")
			jobsKey := decode[client.CreatedKey](t, call("POST", "/v1/keys", ops.Secret, "req-jobs", `{"name":"jobs","scopes":["jobs","read"]}`))
			expectError(t, s.do(t, "GET", "/v1/audit", withKey(jobsKey.Secret), nil), 403, "forbidden", `scope "admin"`)
		})
	}
}

// TestAuditOpen: without any key the trail names the caller "open".
func TestAuditOpen(t *testing.T) {
	st := openStore(t, "duckdb")
	s := newServerOn(t, st, api.Config{Settings: kv.NewSettings(st, nil)})
	if r := s.do(t, "PATCH", "/v1/settings/crm", nil, []byte(`{"url":"https://crm.example"}`)); r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	got := s.audit(t, "", "")
	if len(got) != 1 || got[0].KeyName != "open" || got[0].Action != "settings.patch" || got[0].Summary != "key=crm" || strings.Contains(got[0].Summary, "crm.example") {
		t.Errorf("entries %+v", got)
	}
}
