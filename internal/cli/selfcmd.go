package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// goRunDir is where go run puts the executable it builds:
// $GOTMPDIR/go-build<N>/b<N>/exe.
var goRunDir = regexp.MustCompile(`(^|/)go-build\d+/b\d+/exe$`)

// selfCommand is how the reader runs this weft again, for the commands that
// hints print: "go run ./cmd/weft" when it was started by go run, else the
// path it was started as ("./weft", "/usr/local/bin/weft"), or its name
// when it was found on the PATH.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cwd, _ := os.Getwd()
	return commandFor(os.Args[0], exe, cwd)
}

// commandFor is selfCommand for the given os.Args[0], executable and
// working directory.
func commandFor(arg0, exe, cwd string) string {
	if goRunDir.MatchString(filepath.ToSlash(filepath.Dir(exe))) {
		name := strings.TrimSuffix(filepath.Base(exe), ".exe")
		if info, err := os.Stat(filepath.Join(cwd, "cmd", name)); err == nil && info.IsDir() {
			return "go run ./cmd/" + name
		}
		if filepath.Base(cwd) == name {
			return "go run ."
		}
		return "go run ./cmd/" + name
	}
	return shellQuote(arg0)
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
