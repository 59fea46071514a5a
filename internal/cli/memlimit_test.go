package cli

import "testing"

// TestParseByteSize reads --go-memory-limit as GOMEMLIMIT does.
func TestParseByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1GiB", 1 << 30}, {"512MiB", 512 << 20}, {"64KiB", 64 << 10}, {"2TiB", 2 << 40}, {"1000B", 1000}, {"12345", 12345},
		{"", 0}, {"1GB", 0}, {"-1GiB", 0}, {"0", 0}, {"lots", 0}, {"9000000000TiB", 0},
	} {
		got, err := parseByteSize(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("%q: got %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
