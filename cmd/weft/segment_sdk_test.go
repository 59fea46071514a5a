package main_test

// The real Segment SDKs against weft serve: @segment/analytics-node run by
// Node.js, and the analytics.js 2.0 bundle (@segment/analytics-next) in
// headless Chromium (internal/tracking/sdktest).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/weftdata/weft/internal/browsertest"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/tracking/sdktest"
)

// segmentSource is the source of the Segment calls in the demo weft.yaml.
const segmentSource = "site"

// segmentServer starts weft serve with the demo weft.yaml applied, and
// returns its URL, an admin key and a write key of segmentSource that
// allows the origins.
func segmentServer(t *testing.T, backend string, origins ...string) (base, admin, writeKey string) {
	t.Helper()
	addr := freeAddr(t)
	base = "http://" + addr
	p := start(t, serveArgs(t, backend, addr)...)
	waitHealthy(t, base, p)
	admin = createKey(t, base, "", map[string]any{"name": "ops", "scopes": []string{"admin"}})
	if _, err := client.New(base, admin).ApplyConfig(context.Background(), demo.Config); err != nil {
		t.Fatal(err)
	}
	writeKey = createKey(t, base, admin, map[string]any{"name": "site", "scopes": []string{"ingest"},
		"sources": []string{segmentSource}, "allowed_origins": origins})
	return base, admin, writeKey
}

// createKey creates a key through POST /v1/keys and returns it.
func createKey(t *testing.T, base, admin string, params map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(params)
	status, _, answer := httpDo(t, "POST", base+"/v1/keys", admin, body)
	var k client.CreatedKey
	if err := json.Unmarshal(answer, &k); status != http.StatusCreated || err != nil || k.Secret == "" {
		t.Fatalf("POST /v1/keys %s: %d %s", body, status, answer)
	}
	return k.Secret
}

// sourceEvents reads every event of the source, oldest first.
func sourceEvents(t *testing.T, base, key, source string) []store.Event {
	t.Helper()
	c := client.New(base, key)
	var all []store.Event
	for after := int64(0); ; {
		page, err := c.Events(context.Background(), client.EventsParams{SourceID: source, AfterSeq: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Events...)
		if len(page.Events) == 0 || page.NextAfterSeq == 0 {
			return all
		}
		after = page.NextAfterSeq
	}
}

// lossyProxy stands between an SDK and weft: it forwards every request,
// but answers the first attempt of each (a request without X-Retry-Count,
// which analytics-node adds to its retries) with a 500 once weft has
// stored it, as if the answer had been lost on the way back, so that the
// SDK sends the same batch again.
func lossyProxy(t *testing.T, target string) (proxyURL string, lost, retried *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	lost, retried = new(atomic.Int64), new(atomic.Int64)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Header.Get("X-Retry-Count") != "" {
			retried.Add(1)
			return nil
		}
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		lost.Add(1)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		resp.StatusCode, resp.Status = http.StatusInternalServerError, "500 Internal Server Error"
		resp.Body = io.NopCloser(strings.NewReader(`{"error":"the answer was lost"}`))
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL, lost, retried
}

// nodeSDKRun is what testdata/segment/node-sdk.js prints.
type nodeSDKRun struct {
	Sent []struct {
		Kind      string `json:"kind"`
		MessageID string `json:"messageId"`
	} `json:"sent"`
	Answers map[string]int `json:"answers"`
	Errors  []string       `json:"errors"`
}

// TestSegmentNodeSDK sends a journey and a burst of track calls with the
// real analytics-node, through its own batching, behind a proxy that
// loses the answer of every first attempt: every message lands exactly
// once, and the people stitch as the demo's rules say.
func TestSegmentNodeSDK(t *testing.T) {
	modules, node := sdktest.NodeModules(t), sdktest.Node(t)
	script, err := filepath.Abs("testdata/segment/node-sdk.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			base, admin, writeKey := segmentServer(t, backend)
			proxyURL, lost, retried := lossyProxy(t, base)
			const burst = 250
			cmd := exec.Command(node, script)
			cmd.Env = append(os.Environ(), "SDK_MODULES="+modules, "WEFT_HOST="+proxyURL, "WRITE_KEY="+writeKey, fmt.Sprint("BURST=", burst))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("node-sdk.js: %v\n%s", err, stderrOf(err))
			}
			var run nodeSDKRun
			if err := json.Unmarshal(out, &run); err != nil {
				t.Fatalf("node-sdk.js printed %s: %v", out, err)
			}
			if len(run.Sent) != 6+burst || len(run.Errors) != 0 {
				t.Fatalf("the SDK sent %d messages with errors %q", len(run.Sent), run.Errors)
			}
			// Every batch was stored, answered 500, and sent again.
			if lost.Load() < 3 || retried.Load() != lost.Load() || run.Answers["500"] != int(lost.Load()) || run.Answers["200"] != int(retried.Load()) {
				t.Errorf("lost %d answers, %d retries; the SDK saw %v", lost.Load(), retried.Load(), run.Answers)
			}
			events := sourceEvents(t, base, admin, segmentSource)
			byID := map[string]store.Event{}
			for _, e := range events {
				if _, twice := byID[e.ID]; twice {
					t.Errorf("event %s stored twice", e.ID)
				}
				byID[e.ID] = e
			}
			for _, m := range run.Sent {
				e, ok := byID[m.MessageID]
				if !ok {
					t.Errorf("%s %s not stored", m.Kind, m.MessageID)
					continue
				}
				if want := m.Kind; m.Kind == "track" {
					if e.Type != "Order Completed" && e.Type != "Product Viewed" {
						t.Errorf("track %s stored as %q", m.MessageID, e.Type)
					}
				} else if e.Type != want {
					t.Errorf("%s %s stored as %q", m.Kind, m.MessageID, e.Type)
				}
			}
			if len(events) != len(run.Sent) {
				t.Errorf("%d events stored of %d messages", len(events), len(run.Sent))
			}
			checkSegmentStitching(t, base, admin)
		})
	}
}

// checkSegmentStitching runs stitching and checks the people of the
// journey: anon-1, user-1, ada@example.com and (by alias) anon-2 are one
// entity; grace@example.com with anon-3 another.
func checkSegmentStitching(t *testing.T, base, admin string) {
	t.Helper()
	ctx := context.Background()
	c := client.New(base, admin)
	if _, err := c.Stitch(ctx, false); err != nil {
		t.Fatal(err)
	}
	entity := func(category, value string) string {
		e, err := c.EntityByIdentifier(ctx, category, value)
		if err != nil {
			t.Errorf("entity of %s:%s: %v", category, value, err)
			return ""
		}
		return e.ID
	}
	ada := entity("user_id", "user-1")
	for _, id := range [][2]string{{"anonymous_id", "anon-1"}, {"email", "ada@example.com"}, {"anonymous_id", "anon-2"}} {
		if got := entity(id[0], id[1]); got != ada {
			t.Errorf("%s:%s is entity %s, user-1 is %s", id[0], id[1], got, ada)
		}
	}
	grace := entity("email", "grace@example.com")
	if grace == ada || entity("anonymous_id", "anon-3") != grace {
		t.Errorf("grace: %s, anon-3: %s, ada: %s", grace, entity("anonymous_id", "anon-3"), ada)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// shopPage is the test's site: the five lines of HTML that load
// analytics.js 2.0 from the site's own copy of the npm bundle (its lazy
// chunks too: _cdn + "/analytics-next/bundles/"), with cdnURL at weft,
// which serves the settings and takes the events.
const shopPage = `<!doctype html>
<script>window.analytics = { _cdn: location.origin }</script>
<script src="/analytics-next/bundles/index.js"></script>
<script>
  window.analytics = AnalyticsNext.AnalyticsBrowser.load({ writeKey: %q, cdnURL: %q })
  analytics.page()
</script>
<p id="ready">shop</p>`

// shopSite serves shopPage with the write key *writeKey holds when asked,
// and the bundle (dist/umd of the npm package) under
// /analytics-next/bundles/, where its lazy chunks are looked for.
func shopSite(t *testing.T, writeKey *string, weft string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/analytics-next/bundles/", http.StripPrefix("/analytics-next/bundles/", http.FileServer(http.Dir(sdktest.BrowserBundle(t)))))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, shopPage, *writeKey, weft)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestSegmentBrowserSDK runs analytics.js 2.0 in headless Chromium on a
// page of one origin, weft on another: page and track calls, an identify
// after login, a reload that keeps the anonymousId, every event through
// CORS, and no request anywhere but the two; then a page of an origin the
// write key does not allow, whose calls the browser refuses.
func TestSegmentBrowserSDK(t *testing.T) {
	b := browsertest.NewBrowser(t)
	base, admin, _ := segmentServer(t, "duckdb")
	var writeKey string
	site := shopSite(t, &writeKey, base)
	// The page is on localhost, weft on 127.0.0.1: two origins.
	page := strings.Replace(site.URL, "127.0.0.1", "localhost", 1)
	writeKey = createKey(t, base, admin, map[string]any{"name": "shop", "scopes": []string{"ingest"},
		"sources": []string{segmentSource}, "allowed_origins": []string{page}})

	// ajs_event makes the bundle load its queryString chunk, which must
	// come from the site too, and track "Promo Seen" (on each load).
	if err := b.Do(time.Minute, chromedp.Navigate(page+"/?ajs_event=Promo%20Seen"), chromedp.WaitReady("#ready")); err != nil {
		t.Fatal(err)
	}
	anon := evalString(t, b, `analytics.user().then(u => u.anonymousId())`)
	evalString(t, b, `analytics.track("Product Viewed", {sku: "SKU-1", price: 19.99}).then(ctx => ctx.event.messageId)`)
	// The visitor logs in.
	evalString(t, b, `analytics.identify("user-42", {email: "ada@example.com"}).then(ctx => ctx.event.messageId)`)
	// Delivered before the reload, which would cancel a request in flight
	// (the SDK sends those again from its stored queue).
	beforeReload := len(waitEvents(t, base, admin, 4))
	if err := b.Do(time.Minute, chromedp.Reload(), chromedp.WaitReady("#ready")); err != nil {
		t.Fatal(err)
	}
	if again := evalString(t, b, `analytics.user().then(u => u.anonymousId())`); again != anon || anon == "" {
		t.Errorf("anonymousId %q before the reload, %q after", anon, again)
	}
	if user := evalString(t, b, `analytics.user().then(u => u.id())`); user != "user-42" {
		t.Errorf("userId after the reload: %q", user)
	}

	// page, Promo Seen, track, identify, and page and Promo Seen after the
	// reload.
	events := waitEvents(t, base, admin, 6)
	var kinds []string
	for _, e := range events {
		var m struct {
			AnonymousID string `json:"anonymousId"`
			UserID      string `json:"userId"`
			Traits      struct{ Email string }
		}
		json.Unmarshal(e.Payload, &m)
		kinds = append(kinds, e.Type)
		if m.AnonymousID != anon {
			t.Errorf("%s event with anonymousId %q, the browser's is %q", e.Type, m.AnonymousID, anon)
		}
		if e.Type == "identify" && (m.UserID != "user-42" || m.Traits.Email != "ada@example.com") {
			t.Errorf("identify %s", e.Payload)
		}
	}
	if slices.Sort(kinds); strings.Join(kinds, " ") != "Product Viewed Promo Seen Promo Seen identify page page" {
		t.Errorf("events %q", kinds)
	}
	for _, last := range events[beforeReload:] {
		if !strings.Contains(string(last.Payload), `"userId":"user-42"`) {
			t.Errorf("the %s after the reload does not carry the login: %s", last.Type, last.Payload)
		}
	}
	var settings, preflight, chunk bool
	for _, r := range b.Requests() {
		method, u, _ := strings.Cut(r, " ")
		if !strings.HasPrefix(u, page+"/") && !strings.HasPrefix(u, base+"/") {
			t.Errorf("a request left for elsewhere: %s", r)
		}
		settings = settings || u == base+"/v1/projects/"+writeKey+"/settings"
		preflight = preflight || method == "OPTIONS" && strings.HasPrefix(u, base+"/v1/")
		chunk = chunk || strings.HasPrefix(u, page+"/analytics-next/bundles/queryString.")
	}
	if !settings || !preflight || !chunk {
		t.Errorf("settings from weft %v, CORS preflight %v, lazy chunk from the site %v: %q", settings, preflight, chunk, b.Requests())
	}
	if f := b.Failed(); len(f) > 0 {
		t.Errorf("requests failed: %q", f)
	}

	// A page of an origin the write key does not allow: 127.0.0.1 of
	// another port. Its calls never reach the log.
	other := shopSite(t, &writeKey, base)
	if err := b.Do(time.Minute, chromedp.Navigate(other.URL+"/"), chromedp.WaitReady("#ready")); err != nil {
		t.Fatal(err)
	}
	stranger := evalString(t, b, `analytics.user().then(u => u.anonymousId())`)
	if _, err := chromedp.Run(b.Ctx, chromedp.Evaluate[chromedp.Void](`analytics.track("Refused Call")`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !refusedByCORS(b.Failed(), base) {
		if time.Now().After(deadline) {
			t.Fatalf("the browser saw no CORS refusal; failed %q, requests %q", b.Failed(), b.Requests())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, e := range sourceEvents(t, base, admin, segmentSource) {
		if strings.Contains(string(e.Payload), stranger) || e.Type == "Refused Call" {
			t.Errorf("an event of the refused origin was stored: %s", e.Payload)
		}
	}
}

// evalString evaluates a promise in the page and returns its string.
func evalString(t *testing.T, b *browsertest.Browser, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v; console %q", expr, err, b.Console())
	}
	return v
}

// waitEvents waits for n events of segmentSource and returns them.
func waitEvents(t *testing.T, base, key string, n int) []store.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		events := sourceEvents(t, base, key, segmentSource)
		if len(events) >= n || time.Now().After(deadline) {
			if len(events) != n {
				t.Fatalf("%d events of %s, want %d", len(events), segmentSource, n)
			}
			return events
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// refusedByCORS reports whether a request to weft failed for CORS.
func refusedByCORS(failed []string, weft string) bool {
	for _, f := range failed {
		if strings.HasPrefix(f, weft+"/v1/") && strings.Contains(f, "cors:") {
			return true
		}
	}
	return false
}
