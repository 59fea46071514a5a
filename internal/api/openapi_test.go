package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/delivery"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/privacy"
)

// openAPIDoc is the part of the OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

func readOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("internal/api/openapi.json does not parse as JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("internal/api/openapi.json: openapi is %q, want 3.1.x", doc.OpenAPI)
	}
	return doc
}

// everyRoute is the route table with every optional part of the API on.
func everyRoute() []route {
	_, routes := newHandler(Config{
		Settings: new(kv.Store), Secrets: new(kv.Store),
		Plugins: new(plugin.Service), Deployer: new(plugin.Deployer),
		Delivery: new(delivery.Service), Privacy: new(privacy.Service),
	})
	return routes
}

// TestOpenAPIMatchesRoutes fails when a route of the server is missing from
// internal/api/openapi.json or the document names a route the server does
// not have.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := readOpenAPI(t)
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true, "trace": true}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			if methods[m] {
				documented[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	served := map[string]bool{}
	for _, r := range everyRoute() {
		// OpenAPI has no {name...}: the document writes {name}.
		served[r.method+" "+strings.ReplaceAll(r.path, "...}", "}")] = true
	}
	var missing, extra []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from internal/api/openapi.json: %s", strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		t.Errorf("internal/api/openapi.json names routes the server does not have: %s", strings.Join(extra, ", "))
	}
	if len(served) < 50 {
		t.Errorf("the route table has %d routes; is it still read from NewHandler?", len(served))
	}
}

// publicV1 are the routes under /v1/ that take no x-api-key: the settings
// of analytics.js, whose write key in the path is the credential.
var publicV1 = map[string]bool{"/v1/projects/{writeKey}/settings": true}

// TestOpenAPIOperations checks what every operation must say: a summary,
// its answers with an error answer, and that every $ref resolves.
func TestOpenAPIOperations(t *testing.T) {
	readOpenAPI(t)
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	for path, ops := range doc["paths"].(map[string]any) {
		for m, v := range ops.(map[string]any) {
			o := v.(map[string]any)
			if o["summary"] == nil {
				t.Errorf("%s %s has no summary", m, path)
			}
			responses, _ := o["responses"].(map[string]any)
			if responses["500"] == nil {
				t.Errorf("%s %s does not document its 500 answer", m, path)
			}
			_, open := o["security"]
			if strings.HasPrefix(path, "/v1/") && open != publicV1[path] {
				t.Errorf("%s %s overrides the x-api-key security of /v1, or is public and does not say so", m, path)
			}
			if strings.HasPrefix(path, "/v1/") && !publicV1[path] && responses["401"] == nil {
				t.Errorf("%s %s does not document its 401 answer", m, path)
			}
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok && !resolves(doc, r) {
				t.Errorf("$ref %s does not resolve", r)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

func resolves(doc map[string]any, ref string) bool {
	var cur any = doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPIServed checks GET /v1/openapi.json answers the document, with
// the API key when keys are configured.
func TestOpenAPIServed(t *testing.T) {
	h := NewHandler(Config{APIKeys: []string{"k"}})
	get := func(key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/v1/openapi.json", nil)
		if key != "" {
			req.Header.Set("x-api-key", key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := get(""); rec.Code != http.StatusUnauthorized {
		t.Errorf("without a key: %d, want 401", rec.Code)
	}
	rec := get("k")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec.Body.String() != string(openAPIDocument) {
		t.Error("GET /v1/openapi.json does not answer internal/api/openapi.json")
	}
}

// TestOpenAPIHardeningAnswers checks that the document names the answers
// of the limits on hostile input where they apply: 408 on every route
// that reads a body (--body-read-timeout applies to all), 503 with
// Retry-After on the gated Delivery and Metrics APIs, and GraphQL's
// QUERY_TOO_COMPLEX.
func TestOpenAPIHardeningAnswers(t *testing.T) {
	readOpenAPI(t)
	var doc struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Responses map[string]map[string]any `json:"responses"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	// answer is an operation's answer with a status, its $ref followed.
	answer := func(path, method, status string) map[string]any {
		responses, _ := doc.Paths[path][method]["responses"].(map[string]any)
		a, _ := responses[status].(map[string]any)
		if ref, ok := a["$ref"].(string); ok {
			a = doc.Components.Responses[strings.TrimPrefix(ref, "#/components/responses/")]
		}
		return a
	}
	bodies := 0
	for path, ops := range doc.Paths {
		for m, o := range ops {
			if o["requestBody"] == nil {
				continue
			}
			bodies++
			if a := answer(path, m, "408"); !strings.Contains(fmt.Sprint(a["description"]), "body_timeout") {
				t.Errorf("%s %s reads a body but does not document its 408 body_timeout answer", m, path)
			}
		}
	}
	if bodies < 20 {
		t.Errorf("only %d operations with a request body: is requestBody still how the document names them?", bodies)
	}
	for _, path := range []string{"/deliver", "/log"} {
		a := answer(path, "post", "503")
		headers, _ := a["headers"].(map[string]any)
		if !strings.Contains(fmt.Sprint(a["description"]), "busy") || headers["Retry-After"] == nil {
			t.Errorf("POST %s does not document its 503 busy answer with Retry-After: %v", path, a)
		}
	}
	for _, m := range []string{"get", "post"} {
		if a := answer("/v1/graphql", m, "400"); !strings.Contains(fmt.Sprint(a["description"]), "QUERY_TOO_COMPLEX") {
			t.Errorf("%s /v1/graphql does not document the 400 QUERY_TOO_COMPLEX answer", m)
		}
	}
}
