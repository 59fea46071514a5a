package sqlrewrite

import (
	"reflect"
	"testing"
)

// tryCast is DuckDB's safe form for the families CastFamily knows.
func tryCast(operand, typ string) (string, bool) {
	if CastFamily(typ) == "" {
		return "", false
	}
	return "TRY_CAST(" + operand + " AS " + typ + ")", true
}

func TestSafeCasts(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		failed   []string
	}{
		{"(payload->>'total')::numeric", "TRY_CAST((payload->>'total') AS numeric)",
			[]string{"(((payload->>'total')) IS NOT NULL AND (TRY_CAST((payload->>'total') AS numeric)) IS NULL)"}},
		{"CAST(payload->>'n' AS INTEGER) + 1", "TRY_CAST(payload->>'n' AS INTEGER) + 1",
			[]string{"((payload->>'n') IS NOT NULL AND (TRY_CAST(payload->>'n' AS INTEGER)) IS NULL)"}},
		{"x::double precision", "TRY_CAST(x AS double precision)", []string{"((x) IS NOT NULL AND (TRY_CAST(x AS double precision)) IS NULL)"}},
		{"e.payload::timestamp with time zone", "TRY_CAST(e.payload AS timestamp with time zone)", nil},
		{"'12'::int", "TRY_CAST('12' AS int)", nil},
		{"coalesce(a, b)::numeric(10,2)", "TRY_CAST(coalesce(a, b) AS numeric(10,2))", nil},
		{"lower(x)::text", "lower(x)::text", nil},
		{"((payload->>'a')::text)::float", "TRY_CAST(((payload->>'a')::text) AS float)", nil},
		{"CAST(CAST(x AS TEXT) AS DATE)", "TRY_CAST(CAST(x AS TEXT) AS DATE)", nil},
		{"CAST((x)::int AS TEXT)", "CAST(TRY_CAST((x) AS int) AS TEXT)", nil},
		{"x::text::int", "TRY_CAST(x::text AS int)", nil},
		{"payload->>'a::int'", "payload->>'a::int'", nil},
		{"x /* y::int */ + 1", "x /* y::int */ + 1", nil},
		{"x::int -- z::int\n+ 1", "TRY_CAST(x AS int) -- z::int\n+ 1", nil},
		{"a = 1 AND (b)::bool", "a = 1 AND TRY_CAST((b) AS bool)", nil},
		{"\"weird col\"::date", "TRY_CAST(\"weird col\" AS date)", nil},
		{"(x::int", "(x::int", nil},
		{"E'\\n'::int", "E'\\n'::int", nil},
		{"x::jsonb", "x::jsonb", nil},
		{"try_cast(x AS int)", "try_cast(x AS int)", nil},
		{" x::int -- trailing\n", " TRY_CAST(x AS int) -- trailing\n", nil},
		{"CASE WHEN a THEN 1 END::int", "CASE WHEN a THEN 1 END::int", nil},
		{"(CASE WHEN a THEN '1' END)::int", "TRY_CAST((CASE WHEN a THEN '1' END) AS int)", nil},
		{"a.b(c)::date", "TRY_CAST(a.b(c) AS date)", nil},
		{"x::timestamp without time zone", "TRY_CAST(x AS timestamp without time zone)", nil},
	} {
		got, failed := SafeCasts(tc.in, tryCast)
		if got != tc.want {
			t.Errorf("SafeCasts(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if tc.failed != nil && !reflect.DeepEqual(failed, tc.failed) {
			t.Errorf("SafeCasts(%q) failed = %q, want %q", tc.in, failed, tc.failed)
		}
		if got == tc.in && failed != nil {
			t.Errorf("SafeCasts(%q) unchanged but reports %q", tc.in, failed)
		}
	}
}

func TestCastFamily(t *testing.T) {
	for typ, want := range map[string]string{"NUMERIC(10, 2)": "numeric", "double  precision": "float", "BIGINT": "integer",
		"timestamptz": "timestamptz", "text": "", "int[]": "", "boolean": "boolean", "date": "date"} {
		if got := CastFamily(typ); got != want {
			t.Errorf("CastFamily(%q) = %q, want %q", typ, got, want)
		}
	}
}

// FuzzSafeCastsText: any text is read without a panic, and a rewrite
// leaves no cast to rewrite again.
func FuzzSafeCastsText(f *testing.F) {
	for _, s := range []string{"(payload->>'total')::numeric", "CAST(x AS int) + y::date", "a::", "::int", "CAST(", "x::numeric(", "/* ::int"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		out, failed := SafeCasts(expr, tryCast)
		if out == expr {
			return
		}
		if len(failed) == 0 {
			t.Fatalf("%q rewritten to %q without conditions", expr, out)
		}
		if again, f2 := SafeCasts(out, tryCast); again != out || f2 != nil {
			t.Fatalf("%q: %q, then %q", expr, out, again)
		}
	})
}
