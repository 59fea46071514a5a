package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/keys"
)

// attrsegDelivery ranks by the user's name: an insertion whose category
// is the user's name gets 0.5.
const attrsegDelivery = `
delivery:
  refresh: 1s
  identifiers: {user_id: email}
  use_cases:
    default:
      rules:
        - {name: same_name, item: category, attribute: name, weight: 0.5}
`

func TestDeliveryPlayground(t *testing.T) {
	s := startServer(t, "duckdb", false)
	b := newBrowser(t, s.URL())
	token := b.signIn(adminKey)
	if _, _, page := b.get("/console/"); strings.Contains(page, `href="/console/delivery"`) {
		t.Error("the navigation shows the delivery playground before delivery is configured")
	}
	attrsegData(t, s, attrsegDelivery)
	status, _, page := b.get("/console/delivery")
	if status != http.StatusOK {
		t.Fatalf("playground: %d\n%s", status, page)
	}
	mustContain(t, page, `href="/console/delivery"`, `name="user_id"`, `name="insertions"`)

	// p0 is ann: the second insertion matches her name and comes first
	// (retrieval 0.631 + engagement 0.5 + 0.5 against 1 + 0.5); the
	// hostile content id renders as text.
	form := url.Values{"csrf_token": {token}, "user_id": {"p0@example.org"}, "insertions": {`[
		{"contentId": "<script>c</script>", "properties": {"struct": {"category": "bob"}}},
		{"contentId": "mine", "properties": {"struct": {"category": "ann"}}}]`}}
	first := regexp.MustCompile(`(?s)<tbody><tr>\s*<td class="num">0</td><th scope="row"><code>mine</code></th>`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, page = b.post("/console/delivery", form)
		if status != http.StatusOK {
			t.Fatalf("deliver: %d\n%s", status, page)
		}
		if first.MatchString(page) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond) // the ranker's next refresh loads the user
	}
	if !first.MatchString(page) {
		t.Fatalf("the matching insertion is not first:\n%s", page)
	}
	mustContain(t, page, "same_name: 0.500", "same_name: 0.000", "<td class=\"num\">1.631</td>", "<td class=\"num\">1.500</td>",
		"&lt;script&gt;c&lt;/script&gt;", `the user is profile <a href="/console/profiles/`)
	if strings.Contains(page, "<script>c</script>") {
		t.Error("the hostile content id is not escaped")
	}

	// Validation as /deliver's: the field named.
	status, _, page = b.post("/console/delivery", url.Values{"csrf_token": {token}, "user_id": {"x"}, "insertions": {`[{"contentId": ""}]`}})
	if status != http.StatusBadRequest {
		t.Errorf("an insertion without content id: %d, want 400", status)
	}
	mustContain(t, page, "insertion[0].contentId")
	if status, _, _ := b.post("/console/delivery", url.Values{"csrf_token": {token}, "insertions": {`{}`}}); status != http.StatusBadRequest {
		t.Errorf("insertions not an array: %d, want 400", status)
	}
	// CSRF and scope: refused.
	if status, _, _ := b.post("/console/delivery", url.Values{"insertions": {`[]`}}); status != http.StatusForbidden {
		t.Errorf("without CSRF token: %d, want 403", status)
	}
	_, reader, err := s.Keys.Create(context.Background(), keys.CreateParams{Name: "reader", Scopes: []string{keys.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	rb := newBrowser(t, s.URL())
	rtoken := rb.signIn(reader)
	if status, _, page := rb.post("/console/delivery", url.Values{"csrf_token": {rtoken}, "insertions": {`[]`}}); status != http.StatusForbidden || !strings.Contains(page, "delivery") {
		t.Errorf("a read key delivers: %d, want 403", status)
	}
}
