package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCommandFor(t *testing.T) {
	repo := t.TempDir() // a clone: cmd/weft is there
	if err := os.MkdirAll(filepath.Join(repo, "cmd", "weft"), 0o755); err != nil {
		t.Fatal(err)
	}
	goRun := "/tmp/go-build2285154469/b001/exe/weft"
	for _, c := range []struct{ arg0, exe, cwd, want string }{
		{goRun, goRun, repo, "go run ./cmd/weft"}, // go run ./cmd/weft quickstart
		{goRun, goRun, filepath.Join(repo, "cmd", "weft"), "go run ."},
		{"/tmp/go-build1/b001/exe/myweft", "/tmp/go-build1/b001/exe/myweft", t.TempDir(), "go run ./cmd/myweft"},
		{"./weft", "/home/me/weft/weft", "/home/me/weft", "./weft"},
		{"/usr/local/bin/weft", "/usr/local/bin/weft", "/", "/usr/local/bin/weft"},
		{"weft", "/usr/local/bin/weft", "/", "weft"}, // found on the PATH
		{"/opt/my tools/weft", "/opt/my tools/weft", "/", "'/opt/my tools/weft'"},
	} {
		if got := commandFor(c.arg0, c.exe, c.cwd); got != c.want {
			t.Errorf("commandFor(%q, %q, %q) = %q, want %q", c.arg0, c.exe, c.cwd, got, c.want)
		}
	}
}
