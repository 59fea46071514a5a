package segment

import "testing"

// TestNumericCasts: a cast of a numeric key's column to numeric or
// decimal without a precision reads the column of its numbers; any other
// cast, or one that may apply to more than the column, stays as written.
func TestNumericCasts(t *testing.T) {
	ft := &fieldType{keys: []string{"email", "total"}, numeric: []bool{false, true}}
	for _, c := range []struct{ in, want string }{
		{"((ev.c2))::numeric", "((ev.n2))"},
		{"((ev.c2))::NUMERIC > 1", "((ev.n2)) > 1"},
		{"((ev.c2))::decimal*2", "((ev.n2))*2"},
		{"CAST((ev.c2) AS numeric)", "((ev.n2))"},
		{"cast((ev.c2) as Decimal )", "((ev.n2))"},
		{"CASE WHEN x THEN ((ev.c2))::numeric ELSE 0 END", "CASE WHEN x THEN ((ev.n2)) ELSE 0 END"},
		{"coalesce(((ev.c2))::numeric, 0)", "coalesce(((ev.n2)), 0)"},
		{"-((ev.c2))::numeric", "-((ev.n2))"},
		{"abs((ev.c2))::numeric", "abs((ev.c2))::numeric"},
		{"f ((ev.c2))::numeric", "f ((ev.c2))::numeric"},
		{"((ev.c2))::numeric(10,2)", "((ev.c2))::numeric(10,2)"},
		{"((ev.c2))::numeric (10,2)", "((ev.c2))::numeric (10,2)"},
		{"((ev.c2))::numeric[]", "((ev.c2))::numeric[]"},
		{"((ev.c2))::numeric::text", "((ev.c2))::numeric::text"},
		{"((ev.c2))::numerical", "((ev.c2))::numerical"},
		{"((ev.c2))::double", "((ev.c2))::double"},
		{"CAST((ev.c2) AS numeric(10,2))", "CAST((ev.c2) AS numeric(10,2))"},
		{"((ev.c1))::numeric", "((ev.c1))::numeric"},
		{"((ev.c22))::numeric", "((ev.c22))::numeric"},
		{"'ä' || ((ev.c2))::numeric", "'ä' || ((ev.n2))"},
	} {
		if got := numericCasts(c.in, ft); got != c.want {
			t.Errorf("numericCasts(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
