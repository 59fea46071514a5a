package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// testConfig is a weft.yaml in block style, so that each node has its own
// line: the segment's second condition, attribute spend, is on line 16.
const testConfig = `# console test config
stitching:
  rules:
    - identifier: email
      event: web/signup
      value_expression: "payload->>'email'"
attributes:
  - id: spend
    type: sum
    value: "(payload->>'total')::numeric"
segments:
  - id: vip
    condition:
      all:
        - {attribute: spend, op: ">", value: 100}
        - attribute: spend
          op: is_set
delivery:
  api_keys:
    - sk_live_0123456789abcdef
`

// secretValue is testConfig's key, which no page may show.
const secretValue = "sk_live_0123456789abcdef"

// putConfig applies a document through the API, as the bootstrap admin.
func putConfig(t *testing.T, s *server.Server, doc string) {
	t.Helper()
	api(t, s, http.MethodPut, "/v1/config", "application/yaml", doc)
}

// configInForce is GET /v1/config?format=yaml and its version header.
func configInForce(t *testing.T, s *server.Server) (string, string) {
	t.Helper()
	h, body := apiHeader(t, s, http.MethodGet, "/v1/config?format=yaml", "", "")
	return h.Get("Weft-Config-Version"), body
}

var textareaRE = regexp.MustCompile(`(?s)<textarea id="config-doc"[^>]*>\n(.*?)</textarea>`)

// editorText is the document in the page's editor, unescaped.
func editorText(t *testing.T, page string) string {
	t.Helper()
	m := textareaRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no editor in the page:\n%s", page)
	}
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&amp;", "&")
	return r.Replace(m[1])
}

func TestConfigPages(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, false)
			putConfig(t, s, testConfig)
			b := newBrowser(t, s.URL())
			token := b.signIn(adminKey)

			// The page shows the config in force, masked as GET /v1/config does.
			status, _, page := b.get("/console/config")
			if status != http.StatusOK {
				t.Fatalf("config page: %d\n%s", status, page)
			}
			mustContain(t, page, "Version <strong>1</strong> in force", "by <strong>bootstrap</strong>", `<label for="config-doc">`, `<span id="config-line-16">16</span>`, "/console/assets/config.js")
			if strings.Contains(page, secretValue[:16]) {
				t.Errorf("the page shows the secret:\n%s", page)
			}
			_, masked := configInForce(t, s)
			if got := editorText(t, page); got != masked {
				t.Errorf("the editor holds\n%s\nGET /v1/config says\n%s", got, masked)
			}

			// Validate: a syntax error at its line, nothing changed.
			broken := strings.Replace(masked, "      event: web/signup", "      event: [web/signup", 1)
			status, _, page = b.post("/console/config/validate", url.Values{"csrf_token": {token}, "doc": {broken}})
			if status != http.StatusBadRequest {
				t.Fatalf("validate a syntax error: %d\n%s", status, page)
			}
			mustContain(t, page, `href="#config-line-`, "nothing was changed")
			mustContain(t, page, `data-line="5">line 5</a>: not a valid weft.yaml: did not find expected &#39;,&#39; or &#39;]&#39;`, `<span id="config-line-5" class="bad">5</span>`)
			if got := editorText(t, page); got != broken {
				t.Errorf("the editor lost the posted text: %q", got)
			}

			// An unknown attribute in a segment: the line of that node.
			unknown := strings.Replace(masked, "        - attribute: spend\n", "        - attribute: spent\n", 1)
			status, _, page = b.post("/console/config/validate", url.Values{"csrf_token": {token}, "doc": {unknown}})
			if status != http.StatusBadRequest {
				t.Fatalf("validate an unknown attribute: %d\n%s", status, page)
			}
			mustContain(t, page, `data-line="16">line 16</a>: segments[vip].condition.all[1].attribute`, `<span id="config-line-16" class="bad">16</span>`)

			// An unknown field: the parser's line.
			field := strings.Replace(masked, "    type: sum\n", "    type: sum\n    colour: red\n", 1)
			_, _, page = b.post("/console/config/validate", url.Values{"csrf_token": {token}, "doc": {field}})
			mustContain(t, page, `data-line="10">line 10</a>: not a valid weft.yaml: field colour not found`)

			// A valid document validates and changes nothing.
			changed := strings.Replace(masked, "value: 100", "value: 250", 1)
			status, _, page = b.post("/console/config/validate", url.Values{"csrf_token": {token}, "doc": {changed}})
			if status != http.StatusOK {
				t.Fatalf("validate a good config: %d\n%s", status, page)
			}
			mustContain(t, page, "The config is valid")
			if v, doc := configInForce(t, s); v != "1" || doc != masked {
				t.Errorf("validate changed the config: version %s\n%s", v, doc)
			}

			// Apply: a new version in force, the masked key kept, audited.
			status, loc, page := b.post("/console/config", url.Values{"csrf_token": {token}, "doc": {changed}})
			if status != http.StatusSeeOther || loc != "/console/config?applied=2" {
				t.Fatalf("apply: %d %q\n%s", status, loc, page)
			}
			v, doc := configInForce(t, s)
			if v != "2" || !strings.Contains(doc, "value: 250") || !strings.Contains(doc, `"********cdef"`) {
				t.Errorf("after apply GET /v1/config says version %s\n%s", v, doc)
			}
			stored, _, err := s.Pipeline.Config(context.Background())
			if err != nil || !strings.Contains(stored.Body, secretValue) {
				t.Errorf("the key in force was not kept: %v\n%s", err, stored.Body)
			}
			entries, err := audit.New(s.Store, nil).List(context.Background(), audit.ListParams{Action: "config.apply"})
			if err != nil || len(entries) != 2 || entries[0].Summary != "applied config version 2" || entries[0].Route != "/console/config" || entries[0].KeyName != "bootstrap" {
				t.Errorf("audit entries: %v %+v", err, entries)
			}
			_, _, page = b.get(loc)
			mustContain(t, page, "Version 2 applied.", "Version <strong>2</strong> in force")

			// A refused apply changes nothing and shows the errors.
			status, _, page = b.post("/console/config", url.Values{"csrf_token": {token}, "doc": {unknown}})
			if status != http.StatusBadRequest || !strings.Contains(page, `data-line="16">line 16</a>`) {
				t.Errorf("apply an unknown attribute: %d\n%s", status, page)
			}
			if v, _ := configInForce(t, s); v != "2" {
				t.Errorf("a refused apply changed the version to %s", v)
			}

			// History: both versions, who applied them; the diff of version 2.
			status, _, page = b.get("/console/config/history")
			if status != http.StatusOK {
				t.Fatalf("history: %d\n%s", status, page)
			}
			mustContain(t, page, `href="/console/config/history/2"`, `href="/console/config/history/1"`, `<th scope="col"`)
			if n := strings.Count(page, "<td>bootstrap</td>"); n != 2 {
				t.Errorf("%d versions applied by bootstrap in the history, want 2:\n%s", n, page)
			}
			status, _, page = b.get("/console/config/history/2")
			if status != http.StatusOK {
				t.Fatalf("version 2: %d\n%s", status, page)
			}
			mustContain(t, page, "1 line added, 1 removed",
				`<tr class="removed"><td class="num">15</td><td class="num"></td><td class="sign">-</td><td><code>        - {attribute: spend, op: &#34;&gt;&#34;, value: 100}</code></td></tr>`,
				`<tr class="added"><td class="num"></td><td class="num">15</td><td class="sign">&#43;</td><td><code>        - {attribute: spend, op: &#34;&gt;&#34;, value: 250}</code></td></tr>`,
				`<td colspan="4">… 11 unchanged lines</td>`)
			if strings.Contains(page, secretValue[:16]) {
				t.Errorf("the diff shows the secret:\n%s", page)
			}
			_, _, page = b.get("/console/config/history/1")
			mustContain(t, page, "The first version", "20 lines added, 0 removed")
			if status, _, _ := b.get("/console/config/history/9"); status != http.StatusNotFound {
				t.Errorf("an unknown version: %d, want 404", status)
			}
		})
	}
}

// A read key may not open the config nor act on it; an action without the
// CSRF token is refused; neither changes anything.
func TestConfigRefusals(t *testing.T) {
	s := startServer(t, "duckdb", false)
	putConfig(t, s, testConfig)
	_, readKey, err := s.Keys.Create(context.Background(), keys.CreateParams{Name: "reader", Scopes: []string{keys.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	reader := newBrowser(t, s.URL())
	token := reader.signIn(readKey)
	for _, path := range []string{"/console/config", "/console/config/history", "/console/config/history/1"} {
		if status, _, page := reader.get(path); status != http.StatusForbidden || strings.Contains(page, "sk_live") {
			t.Errorf("read key GET %s: %d, want 403", path, status)
		}
	}
	doc := strings.Replace(testConfig, "value: 100", "value: 1", 1)
	for _, path := range []string{"/console/config", "/console/config/validate"} {
		if status, _, _ := reader.post(path, url.Values{"csrf_token": {token}, "doc": {doc}}); status != http.StatusForbidden {
			t.Errorf("read key POST %s: %d, want 403", path, status)
		}
	}
	admin := newBrowser(t, s.URL())
	adminToken := admin.signIn(adminKey)
	for _, form := range []url.Values{{"doc": {doc}}, {"doc": {doc}, "csrf_token": {"x" + adminToken}}} {
		for _, path := range []string{"/console/config", "/console/config/validate"} {
			if status, _, _ := admin.post(path, form); status != http.StatusForbidden {
				t.Errorf("POST %s with CSRF token %q: %d, want 403", path, form.Get("csrf_token"), status)
			}
		}
	}
	if v, _ := configInForce(t, s); v != "1" {
		t.Errorf("a refused request changed the config: version %s", v)
	}
}

// Hostile text in the document or in an error renders as text.
func TestConfigEscapes(t *testing.T) {
	s := startServer(t, "duckdb", false)
	hostile := "# </textarea><script>alert(1)</script>\n" + testConfig
	putConfig(t, s, hostile)
	b := newBrowser(t, s.URL())
	token := b.signIn(adminKey)
	_, _, page := b.get("/console/config")
	if strings.Contains(page, "<script>alert") || strings.Count(page, "</textarea>") != 1 {
		t.Errorf("the config page lets the document out of the editor:\n%s", page)
	}
	mustContain(t, page, "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
	if got := editorText(t, page); !strings.HasPrefix(got, "# </textarea><script>") {
		t.Errorf("the editor holds %q", got)
	}
	bad := strings.Replace(hostile, "attribute: spend\n", "attribute: \"<script>x</script>\"\n", 1)
	_, _, page = b.post("/console/config/validate", url.Values{"csrf_token": {token}, "doc": {bad}})
	if strings.Contains(page, "<script>x") || !strings.Contains(page, "&lt;script&gt;x") {
		t.Errorf("the error is not escaped:\n%s", page)
	}
	mustContain(t, page, `data-line="17">line 17</a>`)
	_, _, page = b.get("/console/config/history/1")
	if strings.Contains(page, "<script>alert") {
		t.Errorf("the diff lets the document out:\n%s", page)
	}
}

// An apply with warnings (an event type the catalog lacks) shows the new
// version and the warnings at their lines.
func TestConfigApplyWarns(t *testing.T) {
	s := startServer(t, "duckdb", false)
	putConfig(t, s, testConfig)
	api(t, s, http.MethodPost, "/v1/event-types", "application/json", `[{"source_id": "web", "type": "signup", "version": "1-0-0"}]`)
	b := newBrowser(t, s.URL())
	token := b.signIn(adminKey)
	_, doc := configInForce(t, s)
	doc = strings.Replace(doc, "event: web/signup", "event: web/signpu", 1)
	status, _, page := b.post("/console/config", url.Values{"csrf_token": {token}, "doc": {doc}})
	if status != http.StatusOK {
		t.Fatalf("apply with a warning: %d\n%s", status, page)
	}
	mustContain(t, page, "Version 2 applied.", "Version <strong>2</strong> in force", `data-line="5">line 5</a>: stitching.rules[0].event: event type web/signpu is not in the catalog`)
}
