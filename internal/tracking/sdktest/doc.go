// Package sdktest gives tests the real tracking SDKs that send the Segment
// protocol to Weft: @segment/analytics-node run by Node.js, and the
// analytics.js 2.0 bundle (@segment/analytics-next), which tests load in
// the headless Chromium of internal/browsertest.
//
// The npm packages are pinned in the file packages, which scripts/test
// reads too, and installed on first use into the user's cache directory.
// Chromium is Debian's package, which scripts/test installs. Where either
// cannot be had the test is skipped saying what is missing; under CI=true
// it fails instead.
package sdktest
