package console_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/browsertest"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/demo"
)

// TestScreenshots writes the README's screenshots of the console over the
// quickstart's demo data, 1280 px wide, into $WEFT_SCREENSHOTS:
// console-overview.png and console-profile.png (a demo customer's profile).
//
//	WEFT_SCREENSHOTS=docs/img go test -run TestScreenshots ./internal/console
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("WEFT_SCREENSHOTS")
	if dir == "" {
		t.Skip("set WEFT_SCREENSHOTS=<dir> to write the README's screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "duckdb", false)
	ctx := context.Background()
	opts := demo.Options{Customers: 300, Seed: 1}
	api(t, s, "PUT", "/v1/config", "application/yaml", string(demo.Config))
	if _, err := client.New(s.URL(), adminKey).IngestStream(ctx, bench.DemoRecords(demo.Events(opts)), client.IngestOpts{}); err != nil {
		t.Fatal(err)
	}
	api(t, s, "POST", "/v1/stitching/run", "application/json", "")
	api(t, s, "POST", "/v1/attributes/run", "application/json", "")
	// The first customer with an email of their own.
	customer := demo.CustomerAt(opts, 0)
	for i := 1; customer.Email == "" || customer.Household; i++ {
		customer = demo.CustomerAt(opts, i)
	}
	entity, err := s.Store.EntityFind(ctx, "email", customer.Email)
	if err != nil {
		t.Fatalf("the demo customer %s: %v", customer.Email, err)
	}

	b := browsertest.NewBrowser(t)
	if err := b.Do(30*time.Second, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.URL()+"/console/login"), chromedp.WaitVisible("#key")); err != nil {
		t.Fatal(err)
	}
	signInWith(t, b, adminKey, "svg.chart")
	write(t, filepath.Join(dir, "console-overview.png"), screenshot(t, b, "the overview"))
	if err := b.Do(30*time.Second, chromedp.Navigate(s.URL()+"/console/profiles/"+entity), chromedp.WaitVisible("main h1")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "console-profile.png"), screenshot(t, b, "the profile"))
	onlyLoopback(t, b)
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}
