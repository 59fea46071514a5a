package browsertest

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/weftdata/weft/internal/npmtest"
)

// Browser is a headless Chromium tab that keeps the URL of every request
// it made, the requests that failed and why, and its console.
type Browser struct {
	// Ctx is the chromedp context of the tab; actions run on it.
	Ctx context.Context

	mu       sync.Mutex
	urls     map[network.RequestID]string
	requests []string
	failed   []string
	console  []string
}

// NewBrowser starts Chromium (Debian's package) with a fresh profile,
// stopped when the test ends. The flags keep it from reaching any host
// of its own accord (updates, sync, QUIC probes), which the closed
// network here would refuse anyway.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		npmtest.Unavailable(t, "browsertest: chromium is not on PATH (scripts/test installs Debian's package)")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
	)
	b := &Browser{urls: map[network.RequestID]string{}}
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithListener(b.listen))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Do starts the browser, which lives as long as its context:
	// no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("browsertest: enable network events: %v", err)
	}
	b.Ctx = ctx
	return b
}

// listen runs in the tab's event loop: it only records.
func (b *Browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.urls[ev.RequestID] = ev.Request.URL
		b.requests = append(b.requests, ev.Request.Method+" "+ev.Request.URL)
	case *network.EventLoadingFailed:
		reason := ev.ErrorText
		if ev.CorsErrorStatus != nil {
			reason += " cors:" + string(ev.CorsErrorStatus.CorsError)
		}
		b.failed = append(b.failed, b.urls[ev.RequestID]+" "+reason)
	case *runtime.EventConsoleAPICalled:
		line := string(ev.Type) + ":"
		for _, a := range ev.Args {
			if a.Value != nil {
				line += " " + string(a.Value)
			} else {
				line += " " + a.Description
			}
		}
		b.console = append(b.console, line)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		b.console = append(b.console, "exception: "+text)
	}
}

// Requests returns "METHOD URL" of every request the tab made so far,
// preflights (OPTIONS) included.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.requests)
}

// Failed returns the requests that failed, each "URL reason" (a CORS
// refusal has "cors:<error>").
func (b *Browser) Failed() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.failed)
}

// Console returns what the page wrote to its console and its uncaught
// exceptions.
func (b *Browser) Console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.console)
}

// Do runs actions within the time.
func (b *Browser) Do(within time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.Ctx, within)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		return fmt.Errorf("%w; console: %q", err, b.Console())
	}
	return nil
}
