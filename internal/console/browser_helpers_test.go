package console_test

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/weftdata/weft/internal/browsertest"
)

// What the console's browser tests share.

// run runs one action that returns a value.
func run[T any](t *testing.T, b *browsertest.Browser, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b.Ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// evaluate runs a JavaScript expression in the page.
func evaluate[T any](t *testing.T, b *browsertest.Browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v; console %q", expr, err, b.Console())
	}
	return v
}

// screenshot takes a full screenshot (PNG: quality 100), fails when it is
// blank (one colour) and returns it; WEFT_CONSOLE_SHOTS names a folder to
// keep it in, under a name made of what.
func screenshot(t *testing.T, b *browsertest.Browser, what string) []byte {
	t.Helper()
	data := run(t, b, chromedp.FullScreenshot(100))
	if dir := os.Getenv("WEFT_CONSOLE_SHOTS"); dir != "" {
		name := strings.NewReplacer(" ", "-", "/", "-").Replace(what)
		if !strings.HasSuffix(name, ".png") {
			name += ".png"
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", what, err)
	}
	if colours(img) < 2 {
		t.Errorf("the screenshot of %s is blank", what)
	}
	return data
}

// colours counts the colours of an image, up to 2.
func colours(img image.Image) int {
	r := img.Bounds()
	first := img.At(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			if img.At(x, y) != first {
				return 2
			}
		}
	}
	return 1
}
