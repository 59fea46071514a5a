package blobimport

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// decoded is what a decoder yielded, one string per record or bad row.
func decodeAll(t *testing.T, format Format, input string) ([]string, error) {
	t.Helper()
	dec := newDecoder(strings.NewReader(input), format)
	var out []string
	for range 1000 {
		rec, err := dec.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		var re *rowError
		if errors.As(err, &re) {
			out = append(out, fmt.Sprintf("bad %d: %s", re.line, re.reason))
			continue
		}
		if err != nil {
			return out, err
		}
		if rec.raw != nil {
			out = append(out, fmt.Sprintf("%d %s", rec.line, rec.raw))
		} else {
			out = append(out, fmt.Sprintf("%d %v", rec.line, rec.cols))
		}
	}
	t.Fatal("decoder does not end")
	return nil, nil
}

func TestDecoders(t *testing.T) {
	t.Parallel()
	long := `{"a":"` + strings.Repeat("x", 3<<20) + `"}`
	cases := []struct {
		name    string
		format  Format
		input   string
		want    []string
		wantErr string
	}{
		{"ndjson", FormatNDJSON, "{\"a\":1}\n\n  {\"b\":2}  \r\n{bad\n{\"c\":3}", []string{`1 {"a":1}`, `3 {"b":2}`, `4 {bad`, `5 {"c":3}`}, ""},
		{"ndjson bom, no final newline", FormatNDJSON, "\xef\xbb\xbf{\"a\":1}", []string{`1 {"a":1}`}, ""},
		{"ndjson long line", FormatNDJSON, "{}\n" + long + "\n{}\n", []string{"1 {}", "2 " + long, "3 {}"}, ""},
		{"ndjson empty", FormatNDJSON, "", nil, ""},
		{"json", FormatJSON, "[\n  {\"a\": 1},\n  {\n    \"b\": 2\n  }, 3,\n\"x\"]\n", []string{`2 {"a": 1}`, "3 {\n    \"b\": 2\n  }", "5 3", `6 "x"`}, ""},
		{"json one line", FormatJSON, `[{"a":1},{"b":2}]`, []string{`1 {"a":1}`, `1 {"b":2}`}, ""},
		{"json empty file", FormatJSON, "  ", nil, ""},
		{"json empty array", FormatJSON, "[]", nil, ""},
		{"json not an array", FormatJSON, `{"a":1}`, nil, "line 1: the file is not a JSON array"},
		{"json syntax error", FormatJSON, "[\n{\"a\":1},\n{\"b\" 2}\n]", []string{`2 {"a":1}`}, "line 3: invalid JSON"},
		{"json cut short", FormatJSON, "[\n{\"a\":1},\n{\"b\":", []string{`2 {"a":1}`}, "cut short"},
		{"json trailing data", FormatJSON, "[{\"a\":1}]\n\n[]", []string{`1 {"a":1}`}, "line 3: data after the closing bracket"},
		{"csv", FormatCSV, "id,name,payload.email\n1,Ann,a@x\n2,\"Bob, Jr\",b@x\n", []string{"2 map[id:1 name:Ann payload:map[email:a@x]]", "3 map[id:2 name:Bob, Jr payload:map[email:b@x]]"}, ""},
		{"csv bad rows", FormatCSV, "a,b\n1,2\n3\n4,\"x\"y\"\n5,6\n7,8,9\n", []string{"2 map[a:1 b:2]", "bad 3: 1 fields, the header has 2", "bad 4: extraneous or missing \" in quoted-field", "5 map[a:5 b:6]", "bad 6: 3 fields, the header has 2"}, ""},
		{"csv multi-line field", FormatCSV, "a,b\n\"x\ny\",1\n2,3\n", []string{"2 map[a:x\ny b:1]", "4 map[a:2 b:3]"}, ""},
		{"csv header only", FormatCSV, "a,b\n", nil, ""},
		{"csv empty", FormatCSV, "", nil, ""},
		{"csv duplicate column", FormatCSV, "a,a\n1,2\n", nil, `column "a" appears twice`},
		{"csv unnamed column", FormatCSV, "a,\n1,2\n", nil, "column 2 has no name"},
		{"csv column and nested column", FormatCSV, "a,a.b\n1,2\n", nil, `column "a" cannot hold both`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeAll(t, tc.format, tc.input)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestNDJSONLineTooLong(t *testing.T) {
	t.Parallel()
	input := "{}\n" + strings.Repeat("x", maxLine+10) + "\n{\"a\":1}\n"
	got, err := decodeAll(t, FormatNDJSON, input)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 {}", "bad 2: line is longer than 64 MiB", `3 {"a":1}`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
}

func TestJSONSyntaxErrorLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		input string
		want  string
	}{
		{"[\n{\"a\":1},\n{oops}\n]", "line 3: invalid JSON"},
		{"[{\"a\":1}, {\"b\":\n\n  x}]", "line 3: invalid JSON"},
		{"[1,\n2,\n\nx]", "line 4: invalid JSON"},
		{"[1,\n2\n3]", "line 3: invalid JSON"},
		{"\n\nnope", "line 3: invalid JSON"},
	} {
		_, err := decodeAll(t, FormatJSON, tc.input)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.input, err, tc.want)
		}
	}
}
