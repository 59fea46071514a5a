package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store/pgtest"
)

// routeScopes is the access policy, written out here apart from
// routes.go: what each route needs. A route of the server without a row
// fails TestRouteScopes, and so does a row of no route.
var routeScopes = map[string]string{
	"GET /healthz":                                      "public",
	"GET /v1/projects/{writeKey}/settings":              "public",
	"GET /metrics":                                      "read",
	"GET /v1/openapi.json":                              "read",
	"POST /v1/events":                                   "ingest",
	"GET /v1/events":                                    "read",
	"GET /v1/event-types":                               "read",
	"POST /v1/event-types":                              "admin",
	"GET /v1/sources":                                   "read",
	"GET /v1/stats":                                     "read",
	"GET /v1/config":                                    "admin",
	"PUT /v1/config":                                    "admin",
	"POST /v1/stitching/run":                            "jobs",
	"GET /v1/entities":                                  "read",
	"GET /v1/entities/{id}":                             "read",
	"GET /v1/entities/{id}/events":                      "read",
	"GET /v1/entities/{id}/merges":                      "read",
	"POST /v1/entities/{id}/split":                      "admin",
	"POST /v1/entities/merge":                           "admin",
	"POST /v1/identifiers/block":                        "admin",
	"GET /v1/identity/constraints":                      "admin",
	"DELETE /v1/identity/constraints/{id}":              "admin",
	"GET /v1/entities/{id}/history":                     "read",
	"GET /v1/entities/{id}/graph":                       "read",
	"GET /v1/attributes":                                "read",
	"GET /v1/attributes/{id}/values":                    "read",
	"POST /v1/attributes/run":                           "jobs",
	"POST /v1/attributes/refresh-context":               "admin",
	"POST /v1/attributes/refresh-caches":                "admin",
	"GET /v1/segments":                                  "read",
	"GET /v1/segments/{id}":                             "read",
	"GET /v1/segments/{id}/members":                     "read",
	"GET /v1/jobs":                                      "read",
	"POST /v1/jobs/{job}/runs":                          "jobs",
	"GET /v1/jobs/runs":                                 "read",
	"GET /v1/jobs/runs/{id}":                            "read",
	"GET /v1/jobs/runs/{id}/logs":                       "read",
	"POST /v1/jobs/runs/{id}/terminate":                 "jobs",
	"GET /v1/notifications":                             "read",
	"GET /v1/settings":                                  "admin",
	"GET /v1/settings/{key}":                            "admin",
	"PUT /v1/settings/{key}":                            "admin",
	"PATCH /v1/settings/{key}":                          "admin",
	"DELETE /v1/settings/{key}":                         "admin",
	"GET /v1/secrets":                                   "admin",
	"GET /v1/secrets/{key}":                             "admin",
	"PUT /v1/secrets/{key}":                             "admin",
	"PATCH /v1/secrets/{key}":                           "admin",
	"DELETE /v1/secrets/{key}":                          "admin",
	"GET /v1/objects":                                   "read",
	"POST /v1/objects/{type}":                           "ingest",
	"GET /v1/objects/{type}":                            "read",
	"POST /v1/graphql":                                  "read",
	"GET /v1/graphql":                                   "read",
	"GET /v1/properties":                                "read",
	"GET /v1/plugins":                                   "read",
	"POST /v1/plugins/{name}/runs":                      "jobs",
	"POST /v1/plugins/{name}/manifest":                  "admin",
	"GET /v1/plugins/runs":                              "read",
	"GET /v1/plugins/runs/{id}":                         "read",
	"GET /v1/plugins/runs/{id}/results":                 "read",
	"POST /v1/plugins/{name}/predict":                   "delivery",
	"POST /api/plugins/{name}/deployments/{id}/predict": "delivery",
	// Stormly's local-development API (plugin_dev.go).
	"POST /api/developer/initial_dataset/{moment}":               "admin",
	"GET /api/developer/get_manifest":                            "admin",
	"GET /api/developer/get_manifest/{stage}":                    "admin",
	"GET /api/developer/upload_url/{dataset}/{stage}/{path...}":  "admin",
	"GET /plugin/upload-url/{run}/{stage}/{exp}/{sig}/{path...}": "signed",
	"PUT /plugin/put/{run}/{stage}/{exp}/{sig}/{path...}":        "signed",
	"GET /plugin/files/{run}/{stage}/{exp}/{sig}/{path...}":      "signed",
	"HEAD /plugin/files/{run}/{stage}/{exp}/{sig}/{path...}":     "signed",
	"GET /plugin/data/{run}/{key}/{exp}/{sig}":                   "signed",
	"POST /deliver":                                "delivery",
	"POST /log":                                    "delivery",
	"POST /v1/keys":                                "admin",
	"GET /v1/keys":                                 "admin",
	"DELETE /v1/keys/{id}":                         "admin",
	"GET /v1/audit":                                "admin",
	"POST /v1/segments/preview":                    "read",
	"GET /v1/privacy/discovery":                    "admin",
	"POST /v1/privacy/requests":                    "admin",
	"GET /v1/privacy/requests/{id}":                "admin",
	"DELETE /v1/privacy/requests/{id}":             "admin",
	"GET /privacy/certificate.pem":                 "public",
	"GET /privacy/exports/{id}/{file}/{exp}/{sig}": "signed",

	// Destinations (package destination).
	"GET /v1/destinations":                           "read",
	"GET /v1/destinations/{id}":                      "read",
	"GET /v1/destinations/{id}/dead-letters":         "read",
	"POST /v1/destinations/{id}/dead-letters/replay": "jobs",
	// The Segment HTTP Tracking API (tracking.go): write keys, preflights.
	"POST /v1/identify":    "ingest",
	"OPTIONS /v1/identify": "public",
	"POST /v1/i":           "ingest",
	"OPTIONS /v1/i":        "public",
	"POST /v1/track":       "ingest",
	"OPTIONS /v1/track":    "public",
	"POST /v1/t":           "ingest",
	"OPTIONS /v1/t":        "public",
	"POST /v1/page":        "ingest",
	"OPTIONS /v1/page":     "public",
	"POST /v1/p":           "ingest",
	"OPTIONS /v1/p":        "public",
	"POST /v1/screen":      "ingest",
	"OPTIONS /v1/screen":   "public",
	"POST /v1/s":           "ingest",
	"OPTIONS /v1/s":        "public",
	"POST /v1/group":       "ingest",
	"OPTIONS /v1/group":    "public",
	"POST /v1/g":           "ingest",
	"OPTIONS /v1/g":        "public",
	"POST /v1/alias":       "ingest",
	"OPTIONS /v1/alias":    "public",
	"POST /v1/a":           "ingest",
	"OPTIONS /v1/a":        "public",
	"POST /v1/batch":       "ingest",
	"OPTIONS /v1/batch":    "public",
	"POST /v1/b":           "ingest",
	"OPTIONS /v1/b":        "public",
	"POST /v1/import":      "ingest",
	"OPTIONS /v1/import":   "public",

	// Tracking plans (package trackplan).
	"GET /v1/tracking-plan/violations": "read",
}

// principal is who calls: no key, a wrong key, or a key with scopes.
type principal struct {
	name    string
	key     string
	scopes  []string // nil: no valid key
	sources bool     // an ingest key limited to sources
}

// want is what the principal must get from a route of the scope: "ok"
// (past the key check), "401" or "403".
func (p principal) want(route, scope string) string {
	switch {
	case scope == "public" || scope == "signed":
		return "ok"
	case p.scopes == nil:
		return "401"
	case !slices.Contains(p.scopes, "admin") && !slices.Contains(p.scopes, scope):
		return "403"
	case p.sources && scope == "ingest" && route != "POST /v1/events" && !writeKeyRoute(route):
		return "403" // objects belong to no source
	case writeKeyRoute(route) && !p.sources:
		return "403" // a write key has exactly one source: admin keys have none
	}
	return "ok"
}

// writeKeyRoute: the Segment tracking calls take write keys, ingest keys
// limited to one source.
func writeKeyRoute(route string) bool {
	method, path, _ := strings.Cut(route, " ")
	return method == "POST" && strings.HasPrefix(routeScopes["OPTIONS "+path], "public")
}

var pathParam = regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`)

// TestRouteScopes calls every route of the table with no key, a wrong
// key, the bootstrap key and a key of each scope, through real HTTP on
// the real server, on both backends.
func TestRouteScopes(t *testing.T) {
	table := api.EveryRouteScope()
	for r, s := range table {
		want, ok := routeScopes[r]
		switch {
		case !ok:
			t.Errorf("route %s (scope %s) has no row in routeScopes: add the scope it must need", r, s)
		case want != s:
			t.Errorf("route %s declares scope %s, routeScopes says %s", r, s, want)
		}
	}
	for r := range routeScopes {
		if _, ok := table[r]; !ok {
			t.Errorf("routeScopes names %s, which the server does not have", r)
		}
	}
	if t.Failed() {
		return
	}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			base := startFullServer(t, backend, "boot-key")
			principals := []principal{
				{name: "no key"},
				{name: "wrong key", key: "weft_wrong"},
				{name: "bootstrap", key: "boot-key", scopes: []string{"admin"}},
			}
			for _, scopes := range [][]string{{"ingest"}, {"read"}, {"delivery"}, {"jobs"}, {"admin"}, {"read", "jobs"}} {
				name := strings.Join(scopes, "+")
				principals = append(principals, principal{name: name, key: createKey(t, base, "boot-key", name, scopes, nil), scopes: scopes})
			}
			principals = append(principals, principal{name: "ingest of web", key: createKey(t, base, "boot-key", "web only", []string{"ingest"}, []string{"web"}), scopes: []string{"ingest"}, sources: true})

			for _, r := range sortedKeys(routeScopes) {
				scope := routeScopes[r]
				method, pattern, _ := strings.Cut(r, " ")
				path := pathParam.ReplaceAllStringFunc(pattern, func(p string) string {
					if strings.HasSuffix(p, "...}") {
						return "a/b"
					}
					return "x"
				})
				for _, p := range principals {
					status, code, msg := call(t, method, base+path, p.key)
					got := "ok"
					switch {
					case status == http.StatusUnauthorized:
						got = "401"
					case status == http.StatusForbidden && code == "forbidden":
						got = "403"
					}
					want := p.want(r, scope)
					if got != want {
						t.Errorf("%s with %s: %d %s %q, want %s", r, p.name, status, code, msg, want)
						continue
					}
					if want == "403" && !strings.Contains(msg, fmt.Sprintf("scope %q", scope)) && !p.sources {
						t.Errorf("%s with %s: 403 %q does not name the scope needed (%s)", r, p.name, msg, scope)
					}
				}
			}
		})
	}
}

// startFullServer starts weft serve with every part of the API on the
// backend, with a bootstrap key, and returns its base URL.
func startFullServer(t *testing.T, backend, bootstrap string) string {
	t.Helper()
	cfg := server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), APIKeys: []string{bootstrap}, StitchInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if backend == "postgres" {
		cfg.DB = pgtest.URL(t)
	}
	s, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	return s.URL()
}

// createKey creates a key through POST /v1/keys and returns it.
func createKey(t *testing.T, base, adminKey, name string, scopes, sources []string) string {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"scopes":%s,"sources":%s}`, name, jsonList(scopes), jsonList(sources))
	r := fetchWithKey(t, "POST", base+"/v1/keys", adminKey, []byte(body))
	if r.status != http.StatusCreated {
		t.Fatalf("create key %s: %d %s", name, r.status, r.body)
	}
	return decode[struct {
		Key string `json:"key"`
	}](t, r).Key
}

func jsonList(s []string) string {
	if s == nil {
		return "null"
	}
	return `["` + strings.Join(s, `","`) + `"]`
}

func fetchWithKey(t *testing.T, method, url, key string, body []byte) response {
	t.Helper()
	var header map[string]string
	if key != "" {
		header = map[string]string{"x-api-key": key}
	}
	return send(t, method, url, header, body)
}

// call sends an empty request and returns the status and, for an error,
// its code and message.
func call(t *testing.T, method, url, key string) (int, string, string) {
	t.Helper()
	r := fetchWithKey(t, method, url, key, nil)
	var e errorAnswer
	if r.status >= 400 && method != http.MethodHead {
		_ = json.Unmarshal(r.body, &e)
	}
	return r.status, e.Error.Code, e.Error.Message
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
