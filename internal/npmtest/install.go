package npmtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var installMu sync.Mutex

// Install makes sure the packages, each "name@version" (name may be
// scoped: "@segment/analytics-node@3.1.0"), are installed at exactly those
// versions under <cache>/weft-test/<dir>, and returns that directory.
func Install(dir string, pkgs ...string) (string, error) {
	installMu.Lock()
	defer installMu.Unlock()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir = filepath.Join(cache, "weft-test", dir)
	if installed(dir, pkgs) {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if installed(dir, pkgs) {
		return dir, nil // another process installed them meanwhile
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", errors.New("npm is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error"}, pkgs...)
	if out, err := exec.CommandContext(ctx, npm, args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s: %v: %s", strings.Join(pkgs, " "), err, bytes.TrimSpace(out))
	}
	if !installed(dir, pkgs) {
		return "", fmt.Errorf("npm install %s left other versions in %s", strings.Join(pkgs, " "), dir)
	}
	return dir, nil
}

// installed reports whether every package is in dir at its version.
func installed(dir string, pkgs []string) bool {
	for _, p := range pkgs {
		name, version := Split(p)
		data, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		if err != nil {
			return false
		}
		var meta struct{ Version string }
		if json.Unmarshal(data, &meta) != nil || meta.Version != version {
			return false
		}
	}
	return true
}

// Split cuts "name@version" at its last "@", so that scoped names keep
// theirs.
func Split(pkg string) (name, version string) {
	i := strings.LastIndex(pkg, "@")
	if i <= 0 {
		return pkg, ""
	}
	return pkg[:i], pkg[i+1:]
}

// Unavailable skips the test for want of something it runs (a package, a
// program), saying what; under CI=true it fails instead, since CI must run
// every test.
func Unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI must run this test)", msg)
	}
	t.Skipf("%s; skipping", msg)
}
