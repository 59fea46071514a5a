package jsonsyntax

import "testing"

func TestNumberEnd(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"0", 1}, {"-0", 2}, {"123,", 3}, {"1.5]", 3}, {"-1.25e+10}", 9}, {"1E5", 3}, {"01", 1},
		{"", -1}, {"-", -2}, {"+1", -1}, {".5", -1}, {"1.", -3}, {"1.e5", -3}, {"1e", -3}, {"1e+", -4}, {"-x", -2},
	} {
		if got := NumberEnd([]byte(c.in), 0); got != c.want {
			t.Errorf("NumberEnd(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestHex4(t *testing.T) {
	for _, c := range []struct {
		in   string
		i    int
		want rune
		ok   bool
	}{
		{"00e9", 0, 0xe9, true}, {`\uD83D`, 2, 0xd83d, true}, {"aBcD", 0, 0xabcd, true},
		{"00e", 0, -1, false}, {"00g9", 0, -1, false}, {"0000", 1, -1, false}, {"", 0, -1, false},
	} {
		if r, ok := Hex4([]byte(c.in), c.i); r != c.want || ok != c.ok {
			t.Errorf("Hex4(%q, %d) = %x, %v; want %x, %v", c.in, c.i, r, ok, c.want, c.ok)
		}
	}
}
