package console_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/weftdata/weft/internal/browsertest"
)

// a11yBasics is a script that lists what the page lacks of the basics:
// html lang, exactly one h1, a label for every input.
const a11yBasics = `(() => {
  const missing = [];
  if (!document.documentElement.lang) missing.push("html lang");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) missing.push(h1 + " h1");
  for (const e of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const labelled = (e.id && document.querySelector('label[for="' + e.id + '"]')) || e.getAttribute("aria-label") || e.closest("label");
    if (!labelled) missing.push("label of " + (e.name || e.outerHTML));
  }
  for (const b of document.querySelectorAll("button")) {
    if (!b.textContent.trim() && !b.getAttribute("aria-label")) missing.push("name of a button");
  }
  return missing.join(", ");
})()`

// TestSignInBrowser signs in and out through the forms in Chromium, at
// 1280 and 390 px wide, with the keyboard.
func TestSignInBrowser(t *testing.T) {
	s := startServer(t, "duckdb", false)
	api(t, s, "PUT", "/v1/config", "application/yaml", overviewConfig)
	api(t, s, "POST", "/v1/events", "application/x-ndjson", overviewEvents)
	api(t, s, "POST", "/v1/stitching/run", "application/json", "")
	b := browsertest.NewBrowser(t)
	base := s.URL()

	if err := b.Do(30*time.Second, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/console/"), chromedp.WaitVisible("#key")); err != nil {
		t.Fatal(err)
	}
	if loc := run(t, b, chromedp.Location()); !strings.HasPrefix(loc, base+"/console/login?next=") {
		t.Errorf("without a session the console went to %s", loc)
	}
	checkA11y(t, b, "sign-in page")

	// A wrong key: the form says so.
	signInWith(t, b, "weft_wrong_key", "p.banner.error")
	if msg := run(t, b, chromedp.Text("p.banner.error")); !strings.Contains(msg, "not a valid key") {
		t.Errorf("a wrong key says %q", msg)
	}
	// The right key: the overview, with its chart drawn.
	// (While the figures are counted, the page reloads itself.)
	signInWith(t, b, adminKey, "svg.chart")
	if loc := run(t, b, chromedp.Location()); loc != base+"/console/" {
		t.Errorf("signed in at %s", loc)
	}
	if n := run(t, b, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart .mark").length`)); n == 0 {
		t.Error("the chart of the overview has no marks")
	}
	checkA11y(t, b, "overview")
	screenshot(t, b, "1280 px")

	// 390 px: nothing scrolls sideways.
	if err := b.Do(30*time.Second, chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/console/"), chromedp.WaitVisible("svg.chart")); err != nil {
		t.Fatal(err)
	}
	if w := run(t, b, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("at 390 px the page is %d px wide", w)
	}
	screenshot(t, b, "390 px")

	// Sign out: back on the sign-in page, and the console is closed.
	if err := b.Do(30*time.Second, chromedp.Click("form.signout button"), chromedp.WaitVisible("#key")); err != nil {
		t.Fatal(err)
	}
	if err := b.Do(30*time.Second, chromedp.Navigate(base+"/console/"), chromedp.WaitVisible("#key")); err != nil {
		t.Fatalf("after sign-out the overview did not send to sign-in: %v", err)
	}
	onlyLoopback(t, b)
}

// signInWith types a key into the sign-in form and presses Enter, then
// waits for sel.
func signInWith(t *testing.T, b *browsertest.Browser, key, sel string) {
	t.Helper()
	if err := b.Do(40*time.Second, chromedp.Focus("#key"), chromedp.KeyEvent(key+kb.Enter), chromedp.WaitVisible(sel)); err != nil {
		t.Fatal(err)
	}
}

func checkA11y(t *testing.T, b *browsertest.Browser, page string) {
	t.Helper()
	if missing := run(t, b, chromedp.Evaluate[string](a11yBasics)); missing != "" {
		t.Errorf("the %s lacks: %s", page, missing)
	}
}

// onlyLoopback fails on any request the browser made beyond 127.0.0.1.
func onlyLoopback(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	reqs := b.Requests()
	if len(reqs) == 0 {
		t.Error("the browser recorded no request")
	}
	for _, r := range reqs {
		_, raw, _ := strings.Cut(r, " ")
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() != "127.0.0.1" {
			t.Errorf("a request left 127.0.0.1: %s", r)
		}
	}
	if f := b.Failed(); len(f) > 0 {
		t.Errorf("requests failed: %q", f)
	}
}
