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

// TestConfigInBrowser signs in through the form, opens Config, types an
// unknown attribute into the editor, validates and sees the error at its
// line, fixes it from the error's link, applies, and finds the new version
// in the history with its diff: at 1280 and at 390 px wide.
func TestConfigInBrowser(t *testing.T) {
	s := startServer(t, "duckdb", false)
	putConfig(t, s, testConfig)
	b := browsertest.NewBrowser(t)
	if err := b.Do(30*time.Second,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(s.URL()+"/console/login"),
		chromedp.SetValue("#key", adminKey),
		chromedp.Click(`form[action="/console/login"] button`),
		chromedp.WaitVisible(`nav a[href="/console/config"]`),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for i, width := range []int64{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			editConfig(t, b, width, int64(i+2))
		})
	}
	for _, r := range b.Requests() {
		_, rest, _ := strings.Cut(r, " ")
		if u, err := url.Parse(rest); err != nil || u.Hostname() != "127.0.0.1" {
			t.Errorf("a request left 127.0.0.1: %s", r)
		}
	}
	if f := b.Failed(); len(f) > 0 {
		t.Errorf("failed requests: %q", f)
	}
	for _, line := range b.Console() {
		if strings.HasPrefix(line, "exception") || strings.Contains(line, "Content Security Policy") {
			t.Errorf("console: %s", line)
		}
	}
}

// editConfig is the round at one width; it applies version want.
func editConfig(t *testing.T, b *browsertest.Browser, width, want int64) {
	// Type an x after the attribute of the segment's second condition,
	// on line 16: the caret is put there as a click would.
	if err := b.Do(20*time.Second,
		chromedp.EmulateViewport(width, 900),
		chromedp.Click(`nav a[href="/console/config"]`),
		chromedp.WaitVisible("#config-doc"),
		chromedp.Evaluate[chromedp.Void](`(() => {
			const d = document.getElementById("config-doc");
			const at = d.value.indexOf("- attribute: spend\n") + "- attribute: spend".length;
			d.focus();
			d.setSelectionRange(at, at);
		})()`),
		chromedp.KeyEvent("x"),
		chromedp.Click("#config-validate"),
		chromedp.WaitVisible("#config-errors"),
	); err != nil {
		t.Fatalf("validate an unknown attribute: %v", err)
	}
	if got := evaluate[string](t, b, `document.querySelector(".config-gutter span.bad").textContent`); got != "16" {
		t.Errorf("the highlighted line is %q, want 16", got)
	}
	if got := evaluate[string](t, b, `document.querySelector("#config-errors li").textContent`); !strings.HasPrefix(got, "line 16: segments[vip].condition.all[1].attribute") {
		t.Errorf("the error says %q", got)
	}
	if w := evaluate[int64](t, b, `document.documentElement.scrollWidth`); w > width {
		t.Errorf("the config page is %d px wide in a %d px window", w, width)
	}
	screenshot(t, b, fmt.Sprintf("config-error-%d.png", width))
	// The error's link selects line 16; typing replaces it with the fix.
	if err := b.Do(20*time.Second,
		chromedp.Click(`#config-errors a[data-line="16"]`),
	); err != nil {
		t.Fatalf("follow the error's link: %v", err)
	}
	if got := evaluate[string](t, b, `(() => { const d = document.getElementById("config-doc"); return d.value.slice(d.selectionStart, d.selectionEnd); })()`); got != "        - attribute: spendx" {
		t.Errorf("the link selected %q, not line 16", got)
	}
	if err := b.Do(20*time.Second,
		chromedp.KeyEvent("        - attribute: spend"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const d = document.getElementById("config-doc");
			d.value = d.value.replace(/value: \d+/, "value: %d");
			window.confirm = () => true;
		})()`, width)),
		chromedp.Click("#config-apply"),
		chromedp.WaitVisible(`p[role="status"]`),
	); err != nil {
		t.Fatalf("apply the fix: %v", err)
	}
	if got := evaluate[string](t, b, `document.querySelector("main p[role=status]").textContent`); got != fmt.Sprintf("Version %d applied.", want) {
		t.Errorf("after apply the page says %q", got)
	}
	if err := b.Do(20*time.Second,
		chromedp.Click(`a[href="/console/config/history"]`),
		chromedp.WaitVisible(fmt.Sprintf(`a[href="/console/config/history/%d"]`, want)),
		chromedp.Click(fmt.Sprintf(`a[href="/console/config/history/%d"]`, want)),
		chromedp.WaitVisible("table.config-diff"),
	); err != nil {
		t.Fatalf("open version %d in the history: %v", want, err)
	}
	rows := evaluate[string](t, b, `Array.from(document.querySelectorAll("table.config-diff tr.added, table.config-diff tr.removed")).map(r => r.textContent.replace(/\s+/g, " ").trim()).join("|")`)
	if !strings.Contains(rows, fmt.Sprintf("+ - {attribute: spend, op: \">\", value: %d}", width)) || strings.Count(rows, "|") != 1 {
		t.Errorf("the diff of version %d: %q", want, rows)
	}
	if w := evaluate[int64](t, b, `document.documentElement.scrollWidth`); w > width {
		t.Errorf("the diff page is %d px wide in a %d px window", w, width)
	}
	screenshot(t, b, fmt.Sprintf("config-diff-%d.png", width))
}
