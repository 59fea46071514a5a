package console_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftdata/weft/internal/browsertest"
)

// TestAttrSegInBrowser signs in through the form, sees an attribute's
// histogram drawn, and types conditions into the segment builder, whose
// count follows without a reload: at 1280 and at 390 px wide.
func TestAttrSegInBrowser(t *testing.T) {
	s := startServer(t, "duckdb", false)
	attrsegData(t, s, attrsegSegments)
	runSegments(t, s)
	b := browsertest.NewBrowser(t)
	if err := b.Do(30*time.Second,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(s.URL()+"/console/login"),
		chromedp.SetValue("#key", adminKey),
		chromedp.Click(`form[action="/console/login"] button`),
		chromedp.WaitVisible(`nav a[href="/console/segments"]`),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			attrsegRound(t, b, width)
		})
	}
	for _, r := range b.Requests() {
		_, rest, _ := strings.Cut(r, " ")
		if u, err := url.Parse(rest); err != nil || u.Hostname() != "127.0.0.1" {
			t.Errorf("a request left 127.0.0.1: %s", r)
		}
	}
	for _, f := range b.Failed() {
		// The builder's script aborts a count when a newer one starts.
		if !strings.Contains(f, "/console/segments/preview net::ERR_ABORTED") {
			t.Errorf("failed request: %q", f)
		}
	}
	for _, line := range b.Console() {
		if strings.HasPrefix(line, "exception") || strings.Contains(line, "Content Security Policy") {
			t.Errorf("console: %s", line)
		}
	}
}

func attrsegRound(t *testing.T, b *browsertest.Browser, width int64) {
	if err := b.Do(20*time.Second,
		chromedp.EmulateViewport(width, 900),
		chromedp.Click(`nav a[href="/console/attributes"]`),
		chromedp.WaitVisible(`a[href="/console/attributes/amount"]`),
		chromedp.Click(`a[href="/console/attributes/amount"]`),
		chromedp.WaitVisible("svg.chart"),
	); err != nil {
		t.Fatalf("open the attribute amount: %v", err)
	}
	if n := evaluate[int64](t, b, `document.querySelectorAll("svg.chart .mark").length`); n != 20 {
		t.Errorf("the histogram of amount has %d marks, want 20", n)
	}
	if h := evaluate[float64](t, b, `document.querySelector("svg.chart").getBoundingClientRect().height`); h < 50 {
		t.Errorf("the histogram is %.0f px high", h)
	}
	attrsegWidth(t, b, width)
	screenshot(t, b, fmt.Sprintf("attribute-%d.png", width))

	if err := b.Do(20*time.Second,
		chromedp.Click(`nav a[href="/console/segments"]`),
		chromedp.WaitVisible("#tree"),
		// A mark the page keeps only while it is not reloaded.
		chromedp.Evaluate[chromedp.Void](`window.stayed = true; document.getElementById("tree").value = ""`),
		chromedp.Focus("#tree"),
		chromedp.KeyEvent("{attribute: name, op: '=', value: bob}"),
	); err != nil {
		t.Fatalf("type a condition: %v", err)
	}
	attrsegWait(t, b, `(document.getElementById("preview-count") || {}).textContent`, "8")
	// Typing on: the count follows.
	if err := b.Do(20*time.Second,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("tree").value = ""`),
		chromedp.KeyEvent("{attribute: name, op: '=', value: ann}"),
	); err != nil {
		t.Fatalf("type another condition: %v", err)
	}
	attrsegWait(t, b, `(document.getElementById("preview-count") || {}).textContent`, "9")
	if err := b.Do(20*time.Second,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("tree").value = ""`),
		chromedp.KeyEvent("{all: [{identifier: email}, {attribute: spend, op: '>', value: 1}]}"),
	); err != nil {
		t.Fatalf("type a bad condition: %v", err)
	}
	attrsegWait(t, b, `(document.getElementById("preview-error") || {}).textContent`,
		`segments[preview].condition.all[1].attribute: unknown attribute "spend"`)
	if !evaluate[bool](t, b, `window.stayed === true`) {
		t.Error("the page reloaded: the count did not come from the script")
	}
	if n := evaluate[int64](t, b, `document.querySelectorAll("svg.chart .mark").length`); n != 2 {
		t.Errorf("the size histories have %d marks, want 2 (one run of two segments)", n)
	}
	attrsegWidth(t, b, width)
	screenshot(t, b, fmt.Sprintf("segments-%d.png", width))
}

// attrsegWait waits until expr gives want.
func attrsegWait(t *testing.T, b *browsertest.Browser, expr, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = evaluate[string](t, b, expr+` || ""`); got == want {
			return
		}
	}
	t.Errorf("%s is %q, want %q", expr, got, want)
}

// attrsegWidth fails when the page is wider than the window.
func attrsegWidth(t *testing.T, b *browsertest.Browser, width int64) {
	t.Helper()
	if w := evaluate[int64](t, b, `document.documentElement.scrollWidth`); w > width {
		t.Errorf("the page is %d px wide in a %d px window", w, width)
	}
}
