package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// attrsegSegments are segments over attrsegData: big holds the amounts
// 21 to 25, ann_small the anns not in big.
const attrsegSegments = `
segments:
  - id: big
    name: Big <b>spenders</b>
    condition: {attribute: amount, op: ">", value: 20}
  - id: ann_small
    condition:
      all:
        - {attribute: name, op: "=", value: "ann"}
        - not: {segment: big}
`

// runSegments runs the segments job and waits for it.
func runSegments(t testing.TB, s *server.Server) {
	t.Helper()
	run, err := s.Pipeline.RunJob(context.Background(), pipeline.SegmentsJob, map[string]any{}, "test")
	if err != nil || run.Status != "complete" {
		t.Fatalf("segments run: %v %+v", err, run)
	}
}

func TestSegmentsAbsentWithoutSegments(t *testing.T) {
	s := startServer(t, "duckdb", false)
	b := newBrowser(t, s.URL())
	token := b.signIn(adminKey)
	attrsegData(t, s, "")
	for _, path := range []string{"/console/segments", "/console/segments/big"} {
		if status, _, page := b.get(path); status != http.StatusNotFound || !strings.Contains(page, "There is no page at") {
			t.Errorf("GET %s without segments: %d, want 404", path, status)
		}
	}
	if status, _, _ := b.post("/console/segments/preview", url.Values{"csrf_token": {token}, "tree": {"{identifier: email}"}}); status != http.StatusNotFound {
		t.Errorf("preview without segments: %d, want 404", status)
	}
	if _, _, page := b.get("/console/"); strings.Contains(page, `href="/console/segments"`) {
		t.Error("the navigation shows segments while there are none")
	}
}

func TestSegmentsPages(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, false)
			b := newBrowser(t, s.URL())
			token := b.signIn(adminKey)
			attrsegData(t, s, attrsegSegments)
			// Before any run: listed as pending, no history.
			status, _, page := b.get("/console/segments")
			if status != http.StatusOK {
				t.Fatalf("segments: %d\n%s", status, page)
			}
			mustContain(t, page, `href="/console/segments"`, `<a href="/console/segments/big">big</a>`, "Big &lt;b&gt;spenders&lt;/b&gt;", "pending")
			if n := marks(page); n != 0 {
				t.Errorf("%d marks before any run", n)
			}
			runSegments(t, s)
			runSegments(t, s)
			_, _, page = b.get("/console/segments")
			// Two runs of two segments: two points each.
			if n := marks(page); n != 4 {
				t.Errorf("size history: %d marks, want 4:\n%s", n, page)
			}
			mustContain(t, page, `<td class="num">5</td>`, "Size of big after each run")

			status, _, page = b.get("/console/segments/ann_small")
			if status != http.StatusOK {
				t.Fatalf("segment page: %d\n%s", status, page)
			}
			// Condition written out, members linking to their profiles:
			// ann is every third person up to 19 (7 of them), none in big.
			mustContain(t, page, "all of:", `attribute name = &#34;ann&#34;`, "not:", `member of segment <a href="/console/segments/big">big</a>`,
				`href="/console/profiles/`, "<dd>7</dd>")
			if n := strings.Count(page, `href="/console/profiles/`); n != 7 {
				t.Errorf("%d members listed, want 7", n)
			}
			if n := marks(page); n != 2 {
				t.Errorf("segment size history: %d marks, want 2", n)
			}
			if status, _, _ := b.get("/console/segments/nope"); status != http.StatusNotFound {
				t.Errorf("unknown segment: %d, want 404", status)
			}

			// The builder, as a plain form: the count of a known tree.
			status, _, page = b.post("/console/segments/preview", url.Values{"csrf_token": {token},
				"tree": {"all:\n  - {attribute: amount, op: \">=\", value: 10}\n  - {identifier: email}\n"}})
			if status != http.StatusOK {
				t.Fatalf("preview: %d\n%s", status, page)
			}
			mustContain(t, page, `<strong id="preview-count">16</strong>`, `href="/console/profiles/`)
			// A bad tree: its path in the tree; hostile text stays text.
			status, _, page = b.post("/console/segments/preview", url.Values{"csrf_token": {token},
				"tree": {`{any: [{identifier: email}, {attribute: "<script>x</script>", op: "=", value: 1}]}`}})
			if status != http.StatusBadRequest {
				t.Errorf("bad tree: %d, want 400", status)
			}
			mustContain(t, page, "segments[preview].condition.any[1].attribute: unknown attribute", "<code>condition.any[1].attribute</code>", "&lt;script&gt;x&lt;/script&gt;")
			if strings.Contains(page, "<script>x</script>") {
				t.Error("the hostile attribute name is not escaped")
			}
			// Not YAML, an unknown key: said so.
			_, _, page = b.post("/console/segments/preview", url.Values{"csrf_token": {token}, "tree": {`{atribute: name}`}})
			mustContain(t, page, "unknown field")

			// The script's way: JSON.
			req, _ := http.NewRequest("POST", s.URL()+"/console/segments/preview", strings.NewReader(url.Values{"csrf_token": {token}, "tree": {"{attribute: name, op: '=', value: bob}"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
			resp, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var answer struct {
				Count  int64
				Sample []string
			}
			err = json.NewDecoder(resp.Body).Decode(&answer)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || answer.Count != 8 || len(answer.Sample) != 8 {
				t.Errorf("JSON preview: %d %v %+v, want 8 bobs", resp.StatusCode, err, answer)
			}

			// CSRF: refused without the token.
			if status, _, _ := b.post("/console/segments/preview", url.Values{"tree": {"{identifier: email}"}}); status != http.StatusForbidden {
				t.Errorf("preview without CSRF token: %d, want 403", status)
			}
		})
	}
}

func TestSegmentsReadScope(t *testing.T) {
	s := startServer(t, "duckdb", false)
	attrsegData(t, s, attrsegSegments)
	_, reader, err := s.Keys.Create(context.Background(), keys.CreateParams{Name: "reader", Scopes: []string{keys.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.URL())
	token := b.signIn(reader)
	// A preview changes nothing: read is enough.
	status, _, page := b.post("/console/segments/preview", url.Values{"csrf_token": {token}, "tree": {"{identifier: email}"}})
	if status != http.StatusOK {
		t.Fatalf("preview with a read key: %d\n%s", status, page)
	}
	mustContain(t, page, `<strong id="preview-count">25</strong>`)
}
