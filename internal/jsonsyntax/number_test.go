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
