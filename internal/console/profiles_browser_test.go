package console_test

import (
	"fmt"
	_ "image/png" // screenshots are PNG
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/weftdata/weft/internal/browsertest"
)

// TestProfilesInBrowser signs in through the form, searches Ann by email
// from the search box with the keyboard, and sees her attributes and
// identity graph, at 1280 and at 390 px wide.
func TestProfilesInBrowser(t *testing.T) {
	s := profilesServer(t, "duckdb")
	ann := profEntity(t, s, "email:ann@example.org")
	bt := browsertest.NewBrowser(t)
	err := bt.Do(30*time.Second,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(s.URL()+"/console/login"),
		chromedp.WaitVisible("#key"),
		chromedp.SendKeys("#key", adminKey+kb.Enter),
		chromedp.WaitVisible("nav"),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for _, width := range []int64{1280, 390} {
		err := bt.Do(30*time.Second,
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(s.URL()+"/console/profiles"),
			chromedp.WaitVisible("#q"),
			// The search box has the focus; type and press Enter.
			chromedp.KeyEvent("email:ann@example.org"+kb.Enter),
			chromedp.WaitVisible("svg.graph"),
		)
		if err != nil {
			t.Fatalf("%d px: %v", width, err)
		}
		loc := evaluate[string](t, bt, `location.pathname`)
		if loc != "/console/profiles/"+ann {
			t.Errorf("%d px: the search led to %s, want Ann's profile %s", width, loc, ann)
		}
		events := evaluate[int](t, bt, `document.querySelectorAll("svg.graph .node.event").length`)
		idents := evaluate[int](t, bt, `document.querySelectorAll("svg.graph .node.identifier").length`)
		edges := evaluate[int](t, bt, `document.querySelectorAll("svg.graph line.edge").length`)
		if events != 3 || idents != 2 || edges != 4 {
			t.Errorf("%d px: the graph drew %d events, %d identifiers, %d edges; want 3, 2, 4", width, events, idents, edges)
		}
		if attrs := evaluate[int](t, bt, `document.querySelectorAll("tr.attr").length`); attrs != 4 {
			t.Errorf("%d px: %d attributes shown, want 4", width, attrs)
		}
		// Nothing is wider than the window (tables scroll in their box).
		if over := evaluate[int](t, bt, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
			t.Errorf("%d px: the page is %d px wider than the window", width, over)
		}
		screenshot(t, bt, fmt.Sprintf("profile-%d.png", width))
	}
	for _, r := range bt.Requests() {
		if _, u, _ := strings.Cut(r, " "); !strings.HasPrefix(u, "http://127.0.0.1:") && !strings.HasPrefix(u, "data:") {
			t.Errorf("a request left 127.0.0.1: %s", r)
		}
	}
	if f := bt.Failed(); len(f) > 0 {
		t.Errorf("failed requests: %v", f)
	}
	if c := bt.Console(); len(c) > 0 {
		t.Errorf("console messages: %v", c)
	}
}
