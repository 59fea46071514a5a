package console_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/job"
)

// failingJob is a job whose runs fail at once with a hostile message.
type failingJob struct{}

const failMessage = `<script>alert("job")</script> went wrong`

func (failingJob) Prepare(context.Context, *job.Invocation, *job.Status, bool) (*job.Status, error) {
	return nil, job.Fail(errors.New(failMessage))
}

func (failingJob) Perform(context.Context, *job.Status) (*job.Status, error) {
	return nil, job.Fail(errors.New(failMessage))
}

func init() {
	job.Register(job.Info{Name: "console_overview_fails", Description: "fails", New: func() job.Job { return failingJob{} }})
}

// hostileType is an event type the ingest API accepts (no slash or quote)
// that would run script if it were not escaped.
const hostileType = "<img src=x onerror=alert(1)>"

// overviewEvents are 3 web events on 2026-01-01 (2 cookies), 2 shop
// purchases on 2026-01-02 (2 emails), and 1 of the hostile type on
// 2026-01-02.
const overviewEvents = `{"id":"e1","source_id":"web","type":"page_view","version":"1","event_time":"2026-01-01T08:00:00Z","payload":{"cookie_id":"c1"}}
{"id":"e2","source_id":"web","type":"page_view","version":"1","event_time":"2026-01-01T09:00:00Z","payload":{"cookie_id":"c1"}}
{"id":"e3","source_id":"web","type":"page_view","version":"1","event_time":"2026-01-01T23:59:59Z","payload":{"cookie_id":"c2"}}
{"id":"e4","source_id":"shop","type":"purchase","version":"1","event_time":"2026-01-02T00:00:00Z","payload":{"email":"ann@example.org"}}
{"id":"e5","source_id":"shop","type":"purchase","version":"1","event_time":"2026-01-02T10:00:00Z","payload":{"email":"bob@example.org"}}
{"id":"e6","source_id":"web","type":"` + hostileType + `","version":"1","event_time":"2026-01-02T11:00:00Z","payload":{}}
`

const overviewConfig = `stitching:
  rules:
    - identifier: cookie_id
      event: web/page_view
      value_expression: payload->>'cookie_id'
    - identifier: email
      event: shop/purchase
      value_expression: payload->>'email'
`

// waitRun waits until a job's last run ended.
func waitRun(t testing.TB, s *server.Server, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		runs, err := s.Store.JobRunLatest(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Job == name && r.CompletedAt != nil {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the run of %s did not end", name)
}

// row matches a table row's cells, to check figures where they stand.
func row(cells ...string) *regexp.Regexp {
	var b bytes.Buffer
	b.WriteString(`<tr[^>]*>\s*`)
	for _, c := range cells {
		fmt.Fprintf(&b, `<t[dh][^>]*>(?:<a[^>]*>)?%s(?:</a>)?</t[dh]>\s*`, c)
	}
	return regexp.MustCompile(b.String())
}

func TestOverview(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, false)
			api(t, s, "PUT", "/v1/config", "application/yaml", overviewConfig)
			api(t, s, "POST", "/v1/events", "application/x-ndjson", overviewEvents)
			api(t, s, "POST", "/v1/stitching/run", "application/json", "")
			api(t, s, "POST", "/v1/jobs/console_overview_fails/runs", "application/json", "")
			waitRun(t, s, "console_overview_fails")

			b := newBrowser(t, s.URL())
			b.signIn(adminKey)
			page := overviewShowing(t, b, `<dt><a href="/console/config">Events</a></dt><dd>6</dd>`)
			// Entities: cookies c1 and c2, ann, bob, and the event with no
			// identifier, an entity of its own.
			mustContain(t, page, "Figures as of", `<dt><a href="/console/profiles">Entities</a></dt><dd>5</dd>`)
			// The chart: two days, web 3 on the first, shop 2 and web 1 on the second.
			if n := strings.Count(page, `class="mark"`); n != 3 {
				t.Errorf("the chart has %d marks, want 3", n)
			}
			mustContain(t, page, "<title>2026-01-01 web: 3</title>", "<title>2026-01-02 shop: 2</title>", "<title>2026-01-02 web: 1</title>",
				`<ul class="legend">`, "The 2 latest days with events (of 2)")
			for _, re := range []*regexp.Regexp{
				row("web", "page_view", "1", "3"), row("shop", "purchase", "1", "2"),
				row("cookie_id", "2"), row("email", "2"),
			} {
				if !re.MatchString(page) {
					t.Errorf("the page lacks a row %s:\n%s", re, page)
				}
			}
			// Hostile names are text.
			mustContain(t, page, "&lt;img src=x onerror=alert(1)&gt;", "&lt;script&gt;alert(&#34;job&#34;)&lt;/script&gt; went wrong")
			if strings.Contains(page, hostileType) || strings.Contains(page, "<script>alert") {
				t.Error("a hostile name is rendered as HTML")
			}
			// The failed run is highlighted and links to its page.
			failed := regexp.MustCompile(`<tr class="failed-row">\s*<th scope="row">console_overview_fails.*?</th>\s*<td><a class="status-error" href="/console/jobs/runs/[^"]+">error</a></td>`)
			if !failed.MatchString(page) {
				t.Errorf("the failed run is not highlighted:\n%s", page)
			}
			if !regexp.MustCompile(`<th scope="row">stitching.*?</th>\s*<td><a class="status-complete"`).MatchString(page) {
				t.Errorf("the stitching run is not listed as complete:\n%s", page)
			}

			// New events are counted on the next view.
			api(t, s, "POST", "/v1/events", "application/x-ndjson",
				`{"id":"e7","source_id":"crm","type":"update","version":"1","event_time":"2026-01-03T10:00:00Z","payload":{}}`+"\n")
			page = overviewShowing(t, b, `<dt><a href="/console/config">Events</a></dt><dd>7</dd>`)
			mustContain(t, page, "<title>2026-01-03 crm: 1</title>", "The 3 latest days with events (of 3)")
			if !row("crm", "update", "1", "1").MatchString(page) {
				t.Errorf("the new event type is not counted:\n%s", page)
			}
		})
	}
}

// overviewShowing reads the overview until it shows want: the figures are
// counted in the background, and a page view waits for a count at most
// 150 ms (longer on a loaded machine).
func overviewShowing(t testing.TB, b *browser, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, _, page := b.get("/console/")
		if status != http.StatusOK {
			t.Fatalf("overview: %d\n%s", status, page)
		}
		if strings.Contains(page, want) {
			return page
		}
		if time.Now().After(deadline) {
			t.Fatalf("the overview does not show %q:\n%s", want, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
