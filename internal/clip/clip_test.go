package clip

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	long := strings.Repeat("a", 100_000)
	for _, c := range []struct {
		name, got, want string
	}{
		{"short string", String("web"), "web"},
		{"at the limit", String(strings.Repeat("b", ValueMax)), strings.Repeat("b", ValueMax)},
		{"long string", String(long), strings.Repeat("a", ValueMax) + "… (100000 bytes in all)"},
		{"short quote", Quote(`a"b`), `"a\"b"`},
		{"long quote", Quote(long), `"` + strings.Repeat("a", ValueMax) + `"… (100000 bytes in all)`},
		// A cut never splits a character: é is 2 bytes, so 199 a's and
		// an é straddling byte 200 keep the a's only.
		{"rune boundary", String(strings.Repeat("a", ValueMax-1) + "é" + long), strings.Repeat("a", ValueMax-1) + "… (100201 bytes in all)"},
		{"max", Max("abcdef", 3), "abc… (6 bytes in all)"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}
