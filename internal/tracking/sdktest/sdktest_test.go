package sdktest

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftdata/weft/internal/browsertest"
)

// TestNodeSDK runs the pinned analytics-node: it loads and reports its
// version.
func TestNodeSDK(t *testing.T) {
	modules := NodeModules(t)
	out, err := exec.Command(Node(t), "-e", `console.log(require(process.argv[1] + "/package.json").version, typeof require(process.argv[1]).Analytics)`,
		filepath.Join(modules, "@segment", "analytics-node")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "3.1.0 function" {
		t.Fatalf("analytics-node: %v %s", err, out)
	}
}

// TestBrowserBundle loads the analytics.js bundle in Chromium from a test
// server and sees every request the page made.
func TestBrowserBundle(t *testing.T) {
	bundle := BrowserBundle(t)
	mux := http.NewServeMux()
	mux.Handle("/bundles/", http.StripPrefix("/bundles/", http.FileServer(http.Dir(bundle))))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><script src="/bundles/index.js"></script><p id="ok">loaded</p>`))
	})
	site := httptest.NewServer(mux)
	defer site.Close()
	b := browsertest.NewBrowser(t)
	if err := b.Do(30*time.Second, chromedp.Navigate(site.URL), chromedp.WaitReady("#ok")); err != nil {
		t.Fatal(err)
	}
	kind, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`typeof AnalyticsNext.AnalyticsBrowser`))
	if err != nil || kind != "function" {
		t.Fatalf("AnalyticsNext.AnalyticsBrowser: %q %v; console %q", kind, err, b.Console())
	}
	reqs := b.Requests()
	if len(reqs) < 2 || !strings.Contains(strings.Join(reqs, " "), "/bundles/index.js") {
		t.Errorf("requests seen: %q", reqs)
	}
	for _, r := range reqs {
		if !strings.Contains(r, site.URL) {
			t.Errorf("request beyond the test's server: %s", r)
		}
	}
}
