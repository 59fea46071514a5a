package event

import (
	"encoding/json"
	"strings"
	"testing"
)

// validCases are inputs where a hand-written validator most easily parts
// from json.Valid.
var validCases = []string{
	``, ` `, `{}`, `[]`, ` { } `, `{"a":1}`, `{"a" : [1, 2.5, -0, 1e5, 1E+5, -1.5e-7]}`, `[[]]`, `[{}]`,
	`{"a":{"b":{"c":[true,false,null]}}}`, `"x"`, `"\u00e9\n\t\"\\\/\b\f\r"`, `1`, `-0`, `0.0`,
	`{`, `}`, `[`, `]`, `{]`, `[}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a":1 "b":2}`,
	`{a:1}`, `{'a':1}`, `[1 2]`, `01`, `-`, `-01`, `1.`, `.5`, `1e`, `1e+`, `+1`, `0x10`, `1.5.5`,
	`"abc`, `"a\x"`, `"\u12"`, `"\u12g4"`, "\"a\x01b\"", "\"tab\there\"", `tru`, `truex`, `nul`, `nulll`,
	`falsey`, `{} {}`, `1 2`, `[1] x`, "\"\xff\xfe\"", "{\"\x00\":1}", "[\"\u2028\"]", `"\ud800"`,
	`{"a":1}` + "\n", "\t[1]\r\n", `[-]`, `[--1]`, `{"a":-}`, `[1e5.5]`, `[1,,2]`, `{"a"::1}`,
	strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting),
	strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
	strings.Repeat(`{"a":`, maxNesting) + "1" + strings.Repeat("}", maxNesting),
	strings.Repeat(`{"a":`, maxNesting) + "{}" + strings.Repeat("}", maxNesting),
	strings.Repeat("[", maxNesting-1) + "{}" + strings.Repeat("]", maxNesting-1),
	strings.Repeat("[", 100),
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := ValidJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("ValidJSON(%.60q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

// FuzzValidJSON holds ValidJSON to json.Valid's answer on any input
// (go test -fuzz FuzzValidJSON ./internal/event).
func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := ValidJSON(data), json.Valid(data); got != want {
			t.Fatalf("ValidJSON(%q) = %v, json.Valid says %v", data, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	line := []byte(`{"id":"5f1c0c3e-8c1a-4a4e-9d8f-0f6b2c1d3e4f","source":"web","type":"page_view","version":"1-0-0","event_time":"2026-03-01T10:11:12Z","payload":{"url":"https://shop.example.com/products/42?utm_source=mail","title":"A product \u00e9 page","cookie_id":"c-8c1a4a4e","referrer":null,"duration_ms":12345,"scroll":0.75,"tags":["a","b","c"]}}`)
	b.Run("ValidJSON", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			ValidJSON(line)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			json.Valid(line)
		}
	})
}
