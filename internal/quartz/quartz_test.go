package quartz

import (
	"strings"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	from := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC) // a Monday
	tests := []struct {
		expr string
		want []string
	}{
		{"0 0 6 * * ?", []string{"2026-11-24T06:00:00Z", "2026-11-25T06:00:00Z"}},
		{"*/20 * * * * ?", []string{"2026-11-23T07:30:20Z", "2026-11-23T07:30:40Z"}},
		{"0 15 10 ? * 2", []string{"2026-11-23T10:15:00Z", "2026-11-30T10:15:00Z"}},      // 2 is Monday in Quartz
		{"0 0 12 ? * 1,7", []string{"2026-11-28T12:00:00Z", "2026-11-29T12:00:00Z"}},     // Saturday, Sunday
		{"0 0 12 ? * MON-FRI", []string{"2026-11-23T12:00:00Z", "2026-11-24T12:00:00Z"}}, // names
		{"0 0 12 ? * 2-6", []string{"2026-11-23T12:00:00Z", "2026-11-24T12:00:00Z"}},
		{"0 0 0 1 JUL ? *", []string{"2027-07-01T00:00:00Z", "2028-07-01T00:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			at := from
			for _, w := range tt.want {
				at = s.Next(at)
				if got := at.Format(time.RFC3339); got != w {
					t.Fatalf("next = %s, want %s", got, w)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"0 * * * *", "has 5 fields"},
		{"0 0 6 * * * 2027", "year field must be *"},
		{"0 0 6 * * *", "exactly one of day-of-month"},
		{"0 0 6 ? * ?", "exactly one of day-of-month"},
		{"0 0 6 L * ?", "L, W or #"},
		{"0 0 6 ? * 2#1", "L, W or #"},
		{"0 0 6 ? * 8", "8 is not a day of the week"},
		{"0 0 25 * * ?", "cron \"0 0 25 * * ?\""},
		{"", "has 0 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Parse(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// A five-field (Unix) cron gets a suggestion that is itself valid Quartz,
// with the same meaning.
func TestFiveFieldSuggestionParses(t *testing.T) {
	for expr, want := range map[string]string{
		"0 6 * * *":     "0 0 6 * * ?",
		"*/15 * * * *":  "0 */15 * * * ?",
		"30 2 1 * *":    "0 30 2 1 * ?",
		"0 9 * * 1-5":   "0 0 9 ? * 2-6",
		"0 9 * * 0,6":   "0 0 9 ? * 1,7",
		"0 9 * * 7":     "0 0 9 ? * 1",
		"0 9 * * MON":   "0 0 9 ? * MON",
		"0 9 * * 1-5/2": "0 0 9 ? * 2-6/2",
		"0 9 1 * 1":     "0 0 9 ? * 2",
	} {
		_, err := Parse(expr)
		if err == nil {
			t.Fatalf("%q parsed", expr)
		}
		_, q, ok := strings.Cut(err.Error(), "e.g. ")
		if !ok {
			t.Errorf("%q: no suggestion in %v", expr, err)
			continue
		}
		q = strings.Trim(q, `"`)
		if q != want {
			t.Errorf("%q: suggests %q, want %q", expr, q, want)
		}
		if _, err := Parse(q); err != nil {
			t.Errorf("%q: the suggestion %q does not parse: %v", expr, q, err)
		}
	}
	if _, err := Parse("0 9 * * nonsense"); err == nil || strings.Contains(err.Error(), "e.g.") {
		t.Errorf("an invalid suggestion offered: %v", err)
	}
}
