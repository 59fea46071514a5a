package console_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// profilesYAML stitches web events by cookie and email, with at most one
// email per entity, and calculates a few attributes of different types.
const profilesYAML = `stitching:
  rules:
    - {identifier: cookie, event: web/page_view, value_expression: "payload->>'cookie'"}
    - {identifier: cookie, event: web/form_submit, value_expression: "payload->>'cookie'"}
    - {identifier: email, event: web/form_submit, value_expression: "lower(trim(payload->>'email'))"}
  identifiers:
    email:
      blocked_values: ["none"]
      max_per_entity: 1
attributes:
  - {id: page_views, type: custom, data_type: int, query: "SELECT count(*) AS value FROM base WHERE type = 'page_view'"}
  - {id: emails, type: list, value: "lower(trim(payload->>'email'))", filter: "payload->>'email' IS NOT NULL"}
  - {id: first_seen, type: min, data_type: datetime, value: event_time}
  - {id: last_url, type: last, value: "payload->>'url'"}
`

// profHostile is a value that must render as text everywhere.
const profHostile = "<script>alert(1)</script>"

// profEvent is one event of source web for POST /v1/events.
type profEvent struct {
	typ     string
	at      time.Time
	payload map[string]any
}

// profIngest posts events and stitches them.
func profIngest(t testing.TB, s *server.Server, events ...profEvent) {
	t.Helper()
	var recs []map[string]any
	for _, e := range events {
		recs = append(recs, map[string]any{"source_id": "web", "type": e.typ, "version": "1-0-0",
			"event_time": e.at.UTC().Format(time.RFC3339Nano), "payload": e.payload})
	}
	body, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	api(t, s, "POST", "/v1/events", "application/json", string(body))
	api(t, s, "POST", "/v1/stitching/run", "application/json", "{}")
}

var profT0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func profAt(minutes int) time.Time { return profT0.Add(time.Duration(minutes) * time.Minute) }

// profEntity returns the id of the entity holding an identifier.
func profEntity(t testing.TB, s *server.Server, ident string) string {
	t.Helper()
	var e struct{ ID string }
	if err := json.Unmarshal([]byte(api(t, s, "GET", "/v1/entities?identifier="+url.QueryEscape(ident), "", "")), &e); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

// profilesServer starts a server with profilesYAML and these people:
//   - Ann (cookie c1): a page view, a form with ann@example.org and a
//     profHostile payload;
//   - forms with ann2@example.org and ann3@example.org on cookie c4, which
//     is therefore ambiguous (its events carry two emails, one is allowed
//     per entity): its links are refused and the forms are two entities;
//   - Bob: cookie c2's page view and cookie c3's form with
//     bob@example.org, stitched apart, then a form joining c2 and the
//     email (a merge), stitched in a second pass;
//   - Cat (cookie c9): 120 page views.
func profilesServer(t testing.TB, backend string) *server.Server {
	t.Helper()
	s := startServer(t, backend, false)
	api(t, s, "PUT", "/v1/config", "application/yaml", profilesYAML)
	var events []profEvent
	for i := range 120 {
		events = append(events, profEvent{"page_view", profAt(100 + i), map[string]any{"cookie": "c9", "url": fmt.Sprintf("/cat/%d", i)}})
	}
	events = append(events,
		profEvent{"page_view", profAt(1), map[string]any{"cookie": "c1", "url": "/home"}},
		profEvent{"form_submit", profAt(2), map[string]any{"cookie": "c1", "email": "Ann@Example.org"}},
		profEvent{"form_submit", profAt(3), map[string]any{"cookie": "c4", "email": "ann2@example.org"}},
		profEvent{"form_submit", profAt(8), map[string]any{"cookie": "c4", "email": "ann3@example.org"}},
		profEvent{"page_view", profAt(4), map[string]any{"cookie": "c1", "url": "/" + profHostile, "note": profHostile}},
		profEvent{"page_view", profAt(5), map[string]any{"cookie": "c2", "url": "/b"}},
		profEvent{"form_submit", profAt(6), map[string]any{"cookie": "c3", "email": "bob@example.org"}},
	)
	profIngest(t, s, events...)
	profIngest(t, s, profEvent{"form_submit", profAt(7), map[string]any{"cookie": "c2", "email": "bob@example.org"}})
	api(t, s, "POST", "/v1/attributes/run", "application/json", "{}")
	return s
}

var (
	classEvent    = regexp.MustCompile(`class="node event"`)
	classIdent    = regexp.MustCompile(`class="node identifier"`)
	classRefIdent = regexp.MustCompile(`class="node identifier refused"`)
	classEdge     = regexp.MustCompile(`class="edge"`)
	classRefused  = regexp.MustCompile(`class="edge refused"`)
)

func profCount(re *regexp.Regexp, page string) int { return len(re.FindAllStringIndex(page, -1)) }

// graphCounts checks the numbers of nodes and edges of the identity graph.
func graphCounts(t *testing.T, page string, events, idents, refusedIdents, edges, refusedEdges int) {
	t.Helper()
	for _, c := range []struct {
		what      string
		re        *regexp.Regexp
		got, want int
	}{
		{"event nodes", classEvent, profCount(classEvent, page), events},
		{"identifier nodes", classIdent, profCount(classIdent, page), idents},
		{"refused identifier nodes", classRefIdent, profCount(classRefIdent, page), refusedIdents},
		{"edges", classEdge, profCount(classEdge, page), edges},
		{"refused edges", classRefused, profCount(classRefused, page), refusedEdges},
	} {
		if c.got != c.want {
			t.Errorf("%d %s, want %d", c.got, c.what, c.want)
		}
	}
}

func TestProfiles(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := profilesServer(t, backend)
			b := newBrowser(t, s.URL())
			b.signIn(adminKey)
			ann := profEntity(t, s, "email:ann@example.org")

			t.Run("search by email", func(t *testing.T) {
				status, loc, _ := b.get("/console/profiles?q=" + url.QueryEscape("email:ann@example.org"))
				if status != http.StatusSeeOther || loc != "/console/profiles/"+ann {
					t.Fatalf("search: %d %q, want 303 to %s", status, loc, ann)
				}
			})
			t.Run("search by id and by value alone", func(t *testing.T) {
				for _, q := range []string{ann, "c1"} {
					if status, loc, _ := b.get("/console/profiles?q=" + url.QueryEscape(q)); status != http.StatusSeeOther || loc != "/console/profiles/"+ann {
						t.Errorf("search %q: %d %q", q, status, loc)
					}
				}
			})
			t.Run("not found, escaped", func(t *testing.T) {
				status, _, page := b.get("/console/profiles?q=" + url.QueryEscape("email:"+profHostile))
				if status != http.StatusOK {
					t.Fatalf("search: %d", status)
				}
				mustContain(t, page, "No profile matches", "email:&lt;script&gt;alert(1)&lt;/script&gt;")
				if strings.Contains(page, "<script>alert") {
					t.Error("the query is not escaped")
				}
			})
			t.Run("list without a query", func(t *testing.T) {
				status, _, page := b.get("/console/profiles")
				if status != http.StatusOK {
					t.Fatalf("list: %d", status)
				}
				mustContain(t, page, `<label for="q">`, "Recently active", "/console/profiles/"+ann)
			})
			t.Run("profile", func(t *testing.T) {
				status, _, page := b.get("/console/profiles/" + ann)
				if status != http.StatusOK {
					t.Fatalf("profile: %d\n%s", status, page)
				}
				mustContain(t, page, "ann@example.org", "c1",
					// typed attributes: a number, a list, a datetime
					"page_views", `<td class="v-number">2</td>`, "emails", "<li>ann@example.org</li>", "2026-03-01 09:01:00 UTC",
					// the profHostile payload as text, in a collapsible event
					"&lt;script&gt;alert(1)&lt;/script&gt;", "<details>")
				if strings.Contains(page, "<script>alert") {
					t.Error("a profHostile payload is not escaped")
				}
				// The graph: 3 events, the 2 identifiers, and 4 links (3
				// carry c1, one the email).
				graphCounts(t, page, 3, 2, 0, 4, 0)
			})
			t.Run("refused link", func(t *testing.T) {
				// The form with ann2@example.org on the ambiguous c4 is an
				// entity of its own: its cookie link was refused, and nobody
				// holds c4.
				other := profEntity(t, s, "email:ann2@example.org")
				status, _, page := b.get("/console/profiles/" + other)
				if status != http.StatusOK {
					t.Fatalf("profile: %d", status)
				}
				graphCounts(t, page, 1, 1, 1, 1, 1)
				mustContain(t, page, "cookie:c4 (refused: ambiguous)", "carries cookie:c4 (refused: ambiguous)")
				if strings.Contains(page, "held by entity") {
					t.Error("an ambiguous identifier is drawn as held by an entity")
				}
			})
			t.Run("merge with its cause", func(t *testing.T) {
				bob := profEntity(t, s, "email:bob@example.org")
				status, _, page := b.get("/console/profiles/" + bob)
				if status != http.StatusOK {
					t.Fatalf("profile: %d", status)
				}
				rows := regexp.MustCompile(`(?s)<tr class="merge">.*?</tr>`).FindAllString(page, -1)
				if len(rows) != 1 {
					t.Fatalf("%d merges shown, want 1:\n%s", len(rows), page)
				}
				mustContain(t, rows[0], "web/form_submit", "<code>") // the event that caused it
				if !strings.Contains(rows[0], "cookie:c2") && !strings.Contains(rows[0], "email:bob@example.org") {
					t.Errorf("the merge does not name its identifier: %s", rows[0])
				}
				// The merged-away id leads to the survivor, which says so.
				loser := regexp.MustCompile(`<td><code>([0-9a-f]{32})</code></td><td><code>` + bob).FindStringSubmatch(rows[0])
				if loser == nil {
					t.Fatalf("no loser in %s", rows[0])
				}
				status, loc, _ := b.get("/console/profiles/" + loser[1])
				if status != http.StatusSeeOther || loc != "/console/profiles/"+bob+"?from="+loser[1] {
					t.Fatalf("merged-away id: %d %q", status, loc)
				}
				_, _, page = b.get(loc)
				mustContain(t, page, "was merged into this one")
			})
			t.Run("timeline pages", func(t *testing.T) {
				cat := profEntity(t, s, "cookie:c9")
				path := "/console/profiles/" + cat
				seen := map[string]bool{}
				var sizes []int
				for range 4 {
					status, _, page := b.get(path)
					if status != http.StatusOK {
						t.Fatalf("%s: %d", path, status)
					}
					seqs := regexp.MustCompile(`<span class="seq">#(\d+)</span>`).FindAllStringSubmatch(page, -1)
					sizes = append(sizes, len(seqs))
					for _, m := range seqs {
						if seen[m[1]] {
							t.Errorf("event %s on two pages", m[1])
						}
						seen[m[1]] = true
					}
					next := regexp.MustCompile(`rel="next" href="([^"]+)"`).FindStringSubmatch(page)
					if next == nil {
						break
					}
					path = strings.ReplaceAll(next[1], "&amp;", "&")
				}
				if fmt.Sprint(sizes) != "[50 50 20]" || len(seen) != 120 {
					t.Errorf("pages of %v events, %d distinct; want [50 50 20], 120", sizes, len(seen))
				}
				_, _, page := b.get("/console/profiles/" + cat)
				if n := profCount(classEvent, page); n != 60 {
					t.Errorf("%d event nodes, want the bound 60", n)
				}
				mustContain(t, page, "and 60 more events")
			})
			t.Run("unknown and bad", func(t *testing.T) {
				if status, _, _ := b.get("/console/profiles/nope"); status != http.StatusNotFound {
					t.Errorf("unknown id: %d", status)
				}
				if status, _, _ := b.get("/console/profiles/" + ann + "?before=x"); status != http.StatusBadRequest {
					t.Errorf("bad before: %d", status)
				}
			})
		})
	}
}

func TestProfilesHostileIdentifier(t *testing.T) {
	s := startServer(t, "duckdb", false)
	api(t, s, "PUT", "/v1/config", "application/yaml", profilesYAML)
	profIngest(t, s, profEvent{"form_submit", profAt(1), map[string]any{"cookie": profHostile, "email": profHostile + "@x.org"}})
	b := newBrowser(t, s.URL())
	b.signIn(adminKey)
	status, loc, _ := b.get("/console/profiles?q=" + url.QueryEscape("cookie:"+profHostile))
	if status != http.StatusSeeOther {
		t.Fatalf("search a profHostile cookie: %d", status)
	}
	_, _, page := b.get(loc)
	mustContain(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;")
	if strings.Contains(page, "<script>alert") {
		t.Error("a profHostile identifier is not escaped")
	}
	if bytes.Count([]byte(page), []byte(`class="node identifier"`)) != 2 {
		t.Errorf("the graph lacks the profHostile identifiers:\n%s", page)
	}
}

func TestProfilesNeedSignIn(t *testing.T) {
	s := startServer(t, "duckdb", false)
	b := newBrowser(t, s.URL())
	for _, p := range []string{"/console/profiles", "/console/profiles/x"} {
		if status, loc, _ := b.get(p); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login") {
			t.Errorf("%s without a session: %d %q", p, status, loc)
		}
	}
}
