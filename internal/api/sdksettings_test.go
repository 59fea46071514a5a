package api_test

import (
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
)

// sdkSettings is what analytics-next reads of the settings document.
type sdkSettings struct {
	Integrations map[string]struct {
		APIKey   string `json:"apiKey"`
		APIHost  string `json:"apiHost"`
		Protocol string `json:"protocol"`
	} `json:"integrations"`
	Plan          map[string]any                `json:"plan"`
	Metrics       struct{ SampleRate *float64 } `json:"metrics"`
	RemotePlugins []any                         `json:"remotePlugins"`
}

func TestSDKSettings(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := newServer(t, backend, api.Config{})
			host := strings.TrimPrefix(s.URL, "http://")
			// Open mode: no key anywhere, a write key names the source.
			r := s.do(t, "GET", "/v1/projects/site/settings", nil, nil)
			if got := decode[sdkSettings](t, r); r.status != 200 || got.Integrations["Segment.io"].APIKey != "site" {
				t.Fatalf("open mode: %d %s", r.status, r.body)
			}
			expectError(t, s.do(t, "GET", "/v1/projects/no%20source!/settings", nil, nil), 404, "not_found", "no write key")

			admin := s.newKey(t, "", `{"name":"ops","scopes":["admin"]}`)
			web := s.newKey(t, admin.Secret, `{"name":"web","scopes":["ingest"],"sources":["web"]}`)
			r = s.do(t, "GET", "/v1/projects/"+web.Secret+"/settings", map[string]string{"Origin": "http://shop.example"}, nil)
			if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Content-Type") != "application/json" ||
				!strings.Contains(r.header.Get("Cache-Control"), "private") {
				t.Fatalf("settings: %d %v %s", r.status, r.header, r.body)
			}
			got := decode[sdkSettings](t, r)
			seg, ok := got.Integrations["Segment.io"]
			if !ok || len(got.Integrations) != 1 || seg.APIKey != web.Secret || seg.APIHost != host+"/v1" || seg.Protocol != "http" {
				t.Errorf("Segment.io settings %+v of %d integrations", seg, len(got.Integrations))
			}
			if got.Metrics.SampleRate == nil || *got.Metrics.SampleRate != 0 || len(got.RemotePlugins) != 0 || got.Plan["track"] == nil {
				t.Errorf("settings load or report elsewhere: %s", r.body)
			}
			// Nothing beyond what the SDK needs: no key id, name, scope or
			// source.
			for _, leak := range []string{web.ID, `"web"`, "ingest", admin.Secret} {
				if strings.Contains(string(r.body), leak) {
					t.Errorf("settings leak %q: %s", leak, r.body)
				}
			}
			// Behind a proxy that ends TLS.
			r = s.do(t, "GET", "/v1/projects/"+web.Secret+"/settings", map[string]string{"X-Forwarded-Proto": "https"}, nil)
			if seg := decode[sdkSettings](t, r).Integrations["Segment.io"]; seg.Protocol != "https" {
				t.Errorf("behind TLS: %+v", seg)
			}

			// No write key: unknown, admin (no single source), read-only,
			// several sources, revoked. All the same 404.
			read := s.newKey(t, admin.Secret, `{"name":"reader","scopes":["read"]}`)
			multi := s.newKey(t, admin.Secret, `{"name":"multi","scopes":["ingest"],"sources":["web","app"]}`)
			anySource := s.newKey(t, admin.Secret, `{"name":"any","scopes":["ingest"]}`)
			gone := s.newKey(t, admin.Secret, `{"name":"gone","scopes":["ingest"],"sources":["web"]}`)
			if r := s.do(t, "DELETE", "/v1/keys/"+gone.ID, withKey(admin.Secret), nil); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			for name, key := range map[string]string{"unknown": "weft_nope", "admin": admin.Secret, "read": read.Secret,
				"several sources": multi.Secret, "every source": anySource.Secret, "revoked": gone.Secret} {
				r := s.do(t, "GET", "/v1/projects/"+key+"/settings", nil, nil)
				expectError(t, r, 404, "not_found", "no write key")
				if r.header.Get("Access-Control-Allow-Origin") != "*" {
					t.Errorf("%s: the SDK cannot read the 404: %v", name, r.header)
				}
				if strings.Contains(string(r.body), key) {
					t.Errorf("%s: the 404 repeats the key: %s", name, r.body)
				}
			}
			// Any other method is no route.
			if r := s.do(t, "POST", "/v1/projects/"+web.Secret+"/settings", withKey(admin.Secret), []byte(`{}`)); r.status != 405 && r.status != 404 {
				t.Errorf("POST settings: %d %s", r.status, r.body)
			}
		})
	}
}
