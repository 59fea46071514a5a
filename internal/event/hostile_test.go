package event

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// chunked returns at most 32 KiB per Read, as a gzip reader does.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), 32<<10)]) }

// TestDecodeBlankSpaceIsLinear: encoding/json's Decoder rescanned the
// blanks between tokens at every refill; with 32 KiB refills 2 x 4 MiB of
// them took 2 s, 2 x 16 MiB 22 s, 2 x 12 MiB would take some 12 s.
// Decoding is linear now (half a second for 2 x 16 MiB).
func TestDecodeBlankSpaceIsLinear(t *testing.T) {
	const n = 12 << 20
	blanks := bytes.Repeat([]byte(" "), n)
	rec := `{"source_id":"web","type":"t","version":"1","event_time":1767323045000,"payload":{}}`
	body := io.MultiReader(strings.NewReader("["), bytes.NewReader(blanks), strings.NewReader(rec), bytes.NewReader(blanks), strings.NewReader("]"))
	start := time.Now()
	b, err := Decode(chunked{body}, FormatJSON)
	if err != nil || len(b.Events) != 1 {
		t.Fatalf("%v %+v", err, b)
	}
	took := time.Since(start)
	if took > 5*time.Second {
		t.Errorf("24 MiB of blanks took %v", took)
	}
	t.Logf("24 MiB of blanks: %v", took)
}

// TestDecodeTruncatedBody: a body cut short is an error, not a clean end.
func TestDecodeTruncatedBody(t *testing.T) {
	body := io.MultiReader(strings.NewReader(`[{"source_id":"web"`), iotestErr{io.ErrUnexpectedEOF})
	if _, err := Decode(body, FormatJSON); err == nil {
		t.Fatal("no error for a truncated body")
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

func TestCheckEscapes(t *testing.T) {
	for raw, want := range map[string]string{
		`{"a":"b"}`:                  "",
		`{"a":"\ud83d\ude00"}`:       "",
		`{"a":"\uD83D\uDE00"}`:       "",
		`{"a":"\\u0000"}`:            "",
		`{"a":"\\\\udc00"}`:          "",
		`{"a":"\n\t\"\\"}`:           "",
		`{"a":"\u0000"}`:             `contains \u0000`,
		`{"a":"\\\u0000"}`:           `contains \u0000`,
		`{"a":"\udc00x"}`:            `contains \udc00, half`,
		`{"a":"\ud800"}`:             `contains \ud800, half`,
		`{"a":"\ud800\n"}`:           `contains \ud800, half`,
		`{"a":"\ud800\ud800"}`:       `contains \ud800, half`,
		`{"\uDBFF":1}`:               `contains \uDBFF, half`,
		`{"a":"\ud83d\ude00\udc00"}`: `contains \udc00, half`,
	} {
		err := checkEscapes([]byte(raw))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", raw, err)
		case want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)):
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
}

func TestCheckNumbers(t *testing.T) {
	long := strings.Repeat("9", 1001)
	for raw, want := range map[string]string{
		`{"a":1e400,"b":-2.5E-999,"c":"1e1000000"}`: "",
		`{"a":"` + long + `","e1234":true}`:         "",
		`{"a":` + strings.Repeat("9", 1000) + `}`:   "",
		`{"a":1e1001}`:                                              "has the number 1e1001, whose exponent is beyond ±1000",
		`{"a":[1,2,{"b":-1E-1000000}]}`:                             "has the number -1E-1000000",
		`{"a":1e+99999999999999999999}`:                             "has the number 1e+99999999999999999999",
		`{"a":` + long + `}`:                                        "has a number of 1001 characters",
		`{"s":"` + strings.Repeat("x", 2000) + `","n":1e2000}`:      "has the number 1e2000",
		`{"s":"` + strings.Repeat("x", 2000) + `","n":1.5e20}`:      "",
		`{"s":"e1000 \"1e5000\" ` + strings.Repeat(" ", 900) + `"}`: "",
	} {
		err := checkNumbers([]byte(raw))
		switch {
		case want == "" && err != nil:
			t.Errorf("%.60s: %v", raw, err)
		case want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)):
			t.Errorf("%.60s: %v, want %q", raw, err, want)
		}
	}
}
