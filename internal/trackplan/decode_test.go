package trackplan

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestDecoderMatchesLibrary: the one-pass decoder gives what the library's
// own decoder gives, escapes, numbers and empty containers included, and
// stops at DepthMax.
func TestDecoderMatchesLibrary(t *testing.T) {
	d := &decoder{keys: map[string]string{}}
	for _, doc := range []string{
		`{}`, `[]`, ` { "a" : [ 1 , -2.5e+3 , true , false , null , "x" ] } `,
		`{"esc\"aped":"a\\b\/c\u00e9\ud83d\ude00\n","lone":"\ud800","nul":"a\u0000b"}`,
		`{"n":123456789012345678901234567890,"e":1E-999,"z":-0,"o":{"p":{"q":[[],{}]}}}`,
		`{"a":1,"a":2}`, `"top"`, `12`,
		strings.Repeat(`[`, DepthMax) + strings.Repeat(`]`, DepthMax),
	} {
		want, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(doc)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.decode([]byte(doc))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v (%v), want %#v", doc, got, err, want)
		}
	}
	for _, doc := range []string{strings.Repeat(`[`, DepthMax+1) + strings.Repeat(`]`, DepthMax+1), `{"a":` + strings.Repeat(`{"b":`, DepthMax) + `1` + strings.Repeat(`}`, DepthMax+1)} {
		if _, err := d.decode([]byte(doc)); !errors.Is(err, errTooDeep) {
			t.Errorf("%.20s...: %v, want too deep", doc, err)
		}
	}
	// Not JSON: the library's decoder says why.
	for _, doc := range []string{`{"a":}`, `{"a":1`, `[1,]`, `{"a" 1}`, `tru`, `{"a":1}x`} {
		if _, err := d.decode([]byte(doc)); err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
}
