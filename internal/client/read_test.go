package client

import (
	"strings"
	"testing"
)

func TestReadRecords(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
		origins  []string
		wantErr  string
	}{
		{"ndjson", "{\"a\":1}\n\n  {\"b\":2}  \nnot json\n", []string{`{"a":1}`, `{"b":2}`, `not json`}, []string{"f:1", "f:3", "f:4"}, ""},
		{"array", " [ {\"a\" : 1}, {\"b\":[1, 2]} ]", []string{`{"a":1}`, `{"b":[1,2]}`}, []string{"f[0]", "f[1]"}, ""},
		{"broken array", `[{"a":1}, {"b":`, []string{`{"a":1}`}, []string{"f[0]"}, "element 1"},
		{"empty", "", nil, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got, origins []string
			var err error
			for rec, e := range ReadRecords(strings.NewReader(c.in), "f") {
				if e != nil {
					err = e
					break
				}
				got = append(got, string(rec.Data))
				origins = append(origins, rec.Origin.String())
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") || strings.Join(origins, "|") != strings.Join(c.origins, "|") {
				t.Errorf("got %q at %q, want %q at %q", got, origins, c.want, c.origins)
			}
			if (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("err %v, want %q", err, c.wantErr)
			}
		})
	}
}
