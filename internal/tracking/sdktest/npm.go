package sdktest

import (
	_ "embed"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/npmtest"
)

// packagesFile pins the npm packages, one "name@version" a line; both
// support Node.js 20, Debian's.
//
//go:embed packages
var packagesFile string

// Packages returns the pinned npm packages.
func Packages() []string { return strings.Fields(packagesFile) }

// installDir is the folder of the cache directory they go in (scripts/test
// uses the same).
const installDir = "segment-sdks"

// NodeModules returns the node_modules folder holding the pinned packages,
// installing them on first use.
func NodeModules(t testing.TB) string {
	t.Helper()
	dir, err := npmtest.Install(installDir, Packages()...)
	if err != nil {
		unavailable(t, "the Segment SDKs are not installed and cannot be: %v", err)
	}
	return filepath.Join(dir, "node_modules")
}

// Node returns the path of node.
func Node(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not on PATH")
	}
	return node
}

// BrowserBundle is the folder of the analytics.js 2.0 bundle and its lazy
// chunks (dist/umd), which a site serves itself.
func BrowserBundle(t testing.TB) string {
	t.Helper()
	return filepath.Join(NodeModules(t), "@segment", "analytics-next", "dist", "umd")
}

// unavailable skips the test, or fails it under CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	npmtest.Unavailable(t, "sdktest: "+fmt.Sprintf(format, args...))
}
