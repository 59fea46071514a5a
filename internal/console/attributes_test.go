package console_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// attrsegEvent is an event of the test data: a signup of person i.
func attrsegEvent(id, email string, ms int, payload string) string {
	return fmt.Sprintf(`{"id":%q,"source_id":"web","type":"signup","version":"1","event_time":%d,"payload":{"email":%q,%s}}`,
		id, 1767323045000+ms, email, payload)
}

// attrsegHostile is a name that must render as text.
const attrsegHostile = `<script>alert("x")</script>`

// attrsegConfig has an attribute that fails at run time (broken), a
// string one (name) and a number with 25 distinct values (amount).
const attrsegConfig = `
stitching:
  rules:
    - {identifier: email, event: web/signup, value_expression: "payload->>'email'"}
attributes:
  - {id: name, type: last, value: "payload->>'name'"}
  - {id: amount, type: last, data_type: float, value: "(payload->>'amount')::numeric"}
  - {id: visits, type: custom, data_type: int, query: "SELECT count(*) AS value FROM base"}
  - {id: broken, type: custom, query: "SELECT CAST(payload->>'url' AS INTEGER) AS value FROM base"}
`

// attrsegData loads 25 people (amounts 1 to 25; names ann, bob, and the
// hostile one; person 0 visits twice) with config extra added, stitched
// and calculated.
func attrsegData(t testing.TB, s *server.Server, extra string) {
	t.Helper()
	api(t, s, "PUT", "/v1/config", "application/yaml", attrsegConfig+extra)
	names := []string{"ann", "bob", attrsegHostile}
	var events []string
	for i := 0; i < 25; i++ {
		payload := fmt.Sprintf(`"name":%q,"amount":%d,"url":"/home"`, names[i%3], i+1)
		events = append(events, attrsegEvent(fmt.Sprintf("e%d", i), fmt.Sprintf("p%d@example.org", i), i, payload))
	}
	events = append(events, attrsegEvent("again", "p0@example.org", 100, `"name":"ann","amount":1`))
	api(t, s, "POST", "/v1/events", "application/x-ndjson", strings.Join(events, "\n"))
	api(t, s, "POST", "/v1/stitching/run", "application/json", "{}")
	api(t, s, "POST", "/v1/attributes/run", "application/json", "{}")
}

var markPattern = regexp.MustCompile(`class="mark"`)

// marks counts the marks of the charts of a page.
func marks(page string) int { return len(markPattern.FindAllString(page, -1)) }

func TestAttributesPage(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, false)
			b := newBrowser(t, s.URL())
			b.signIn(adminKey)
			status, _, page := b.get("/console/attributes")
			if status != http.StatusOK {
				t.Fatalf("attributes before any config: %d\n%s", status, page)
			}
			mustContain(t, page, "declares no attribute", `href="/console/attributes"`)

			attrsegData(t, s, "")
			status, _, page = b.get("/console/attributes")
			if status != http.StatusOK {
				t.Fatalf("attributes: %d\n%s", status, page)
			}
			mustContain(t, page, `<a href="/console/attributes/broken">broken</a>`, `class="status-error">error</td>`,
				`class="status-ok">ok</td>`, "1 of 4 attributes failed", "/home")
			// One bar per attribute with customers: all but broken.
			if n := marks(page); n != 3 {
				t.Errorf("customers chart: %d marks, want 3", n)
			}

			// A string: a bar per value, the hostile one as text.
			_, _, page = b.get("/console/attributes/name")
			mustContain(t, page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "<code>ann</code>")
			if strings.Contains(page, attrsegHostile) {
				t.Error("the hostile value is not escaped")
			}
			if n := marks(page); n != 3 {
				t.Errorf("name: %d marks, want 3", n)
			}
			// A number with more distinct values than listed: a histogram
			// of 20 buckets, each holding one value at least.
			_, _, page = b.get("/console/attributes/amount")
			mustContain(t, page, "ranges of equal width", "(the first 20)")
			if n := marks(page); n != 20 {
				t.Errorf("amount: %d marks, want 20", n)
			}
			// Few numbers: a bar per value, in order (1 visit: 24, 2: 1).
			_, _, page = b.get("/console/attributes/visits")
			if n := marks(page); n != 2 || !regexp.MustCompile(`(?s)<title>1 customers: 24</title>.*<title>2 customers: 1</title>`).MatchString(page) {
				t.Errorf("visits: %d marks, want 2 in order:\n%s", n, page)
			}
			// The failing one shows its error and no distribution.
			_, _, page = b.get("/console/attributes/broken")
			mustContain(t, page, "The last run failed", "/home", "No customer has a value yet.")
			if status, _, _ := b.get("/console/attributes/nope"); status != http.StatusNotFound {
				t.Errorf("unknown attribute: %d, want 404", status)
			}
		})
	}
}
