package console_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftdata/weft/internal/browsertest"
)

// TestJobsInBrowser signs in through the form, opens Jobs, triggers a
// stitching run and watches its page follow the run to the end without a
// reload: at 1280 and at 390 px wide. The stitching lock is held while the
// page loads, so that the run cannot end before the page shows it running.
func TestJobsInBrowser(t *testing.T) {
	s := startServer(t, "duckdb", false)
	api(t, s, "PUT", "/v1/config", "", stitchByEmail)
	b := browsertest.NewBrowser(t)
	base := s.URL()
	if err := b.Do(30*time.Second,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/console/login"),
		chromedp.SetValue("#key", adminKey),
		chromedp.Click(`form[action="/console/login"] button`),
		chromedp.WaitVisible(`nav a[href="/console/jobs"]`),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for i, width := range []int64{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			api(t, s, "POST", "/v1/events", "", pageViews(i*5, i*5+5))
			followStitching(t, b, s.Store.LockStitching, width)
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

func followStitching(t *testing.T, b *browsertest.Browser, lock func(context.Context, bool) (func(), error), width int64) {
	if err := b.Do(20*time.Second,
		chromedp.EmulateViewport(width, 900),
		chromedp.Click(`nav a[href="/console/jobs"]`),
		chromedp.WaitVisible(`form[action="/console/jobs/stitching/runs"] button`),
	); err != nil {
		t.Fatalf("open Jobs: %v", err)
	}
	unlock, err := lock(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { unlock() }()
	if err := b.Do(20*time.Second,
		chromedp.Click(`form[action="/console/jobs/stitching/runs"] button`),
		chromedp.WaitVisible("#run-status"),
		chromedp.Evaluate[chromedp.Void](`window.weftSamePage = true`),
	); err != nil {
		t.Fatalf("trigger stitching: %v", err)
	}
	status := evaluate[string](t, b, `document.getElementById("run-status").textContent`)
	if status != "pending" && status != "running" {
		t.Fatalf("the run page shows %q while stitching is held", status)
	}
	unlock()
	unlock = func() {}
	if err := b.Do(20*time.Second,
		chromedp.Poll[chromedp.Void](`document.getElementById("run-status").textContent === "complete"`, chromedp.WithPollingTimeout(15*time.Second)),
	); err != nil {
		t.Fatalf("the status never changed to complete: %v", err)
	}
	if started := evaluate[string](t, b, `document.getElementById("run-started").textContent`); !strings.HasPrefix(started, "20") {
		t.Errorf("the start time did not follow the run: %q", started)
	}
	if !evaluate[bool](t, b, `window.weftSamePage === true`) {
		t.Error("the page reloaded")
	}
	lines := evaluate[string](t, b, `Array.from(document.querySelectorAll("#log tr")).map(r => r.textContent).join("\n")`)
	if !strings.Contains(lines, "stitched") || !strings.Contains(lines, `"events":5`) {
		t.Errorf("the log did not follow the run: %q", lines)
	}
	if evaluate[bool](t, b, `document.getElementById("terminate") !== null`) {
		t.Error("the terminate form stays after the run ended")
	}
	if w := evaluate[int64](t, b, `document.documentElement.scrollWidth`); w > width {
		t.Errorf("the run page is %d px wide in a %d px window", w, width)
	}
	screenshot(t, b, fmt.Sprintf("jobs-run-%d.png", width))
}
