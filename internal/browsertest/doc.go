// Package browsertest gives tests a real headless Chromium (Debian's
// package, which scripts/test installs) driven through chromedp, keeping
// every request the page made, the ones that failed, and its console.
// The tracking SDK tests load analytics.js in it; the console's end-to-end
// tests sign in and click through. Without Chromium a test is skipped
// saying so; under CI=true it fails instead.
package browsertest
