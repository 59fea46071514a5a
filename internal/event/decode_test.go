package event

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDecodeMixedRecords(t *testing.T) {
	body := `[
	 {"id":"e1","source_id":"web","type":"page_view","version":"1-0-0","event_time":"2026-01-02T03:04:05.123456789Z","payload":{"a":1}},
	 {"source_id":"web","type":"page_view","version":"1-0-0","event_time":"2026-01-02T03:04:05Z"},
	 {"source_id":"web","type":"page_view","version":"1-0-0","event_time":"yesterday","payload":{}},
	 {"source_id":"web","type":"page_view","version":"1-0-0","event_time":1767323045123,"payload":[1]},
	 {"source_id":"web","type":"page/view","version":"1-0-0","event_time":1767323045123,"payload":{}},
	 {"source_id":"web","type":"page_view","version":"1-0-0","event_time":1767323045123.5,"payload":{"b":"x"},"extra":1},
	 {"source_id":5,"type":"page_view","version":"1-0-0","event_time":1767323045123,"payload":{}},
	 "not an object",
	 {"source_id":"crm","type":"customer_update","version":"1-0-0","event_time":"2026-01-02 03:04:05","payload":{"email":"a@b"}},
	 {"id":"","source_id":"web","type":"page_view","version":"1-0-0","event_time":1,"payload":{}},
	 {"source_id":"web","type":"page_view","event_time":1,"payload":{}},
	 {"source_id":"web","type":"page_view","version":"1-0-0","event_time":1,"payload":{"x":"\u0000"}}
	]`
	b, err := Decode(strings.NewReader(body), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if b.Records != 12 {
		t.Errorf("records = %d, want 12", b.Records)
	}
	if len(b.Events) != 2 || b.Index[0] != 0 || b.Index[1] != 8 {
		t.Fatalf("good events at %v, want [0 8]", b.Index)
	}
	if got := b.Events[0].EventTime; !got.Equal(time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)) {
		t.Errorf("event_time truncated to %v, want microseconds", got)
	}
	if b.Events[0].ID != "e1" || len(b.Events[1].ID) != 32 {
		t.Errorf("ids %q %q", b.Events[0].ID, b.Events[1].ID)
	}
	want := map[int]string{
		1:  "payload: required",
		2:  `event_time: "yesterday" is neither RFC 3339`,
		3:  "payload: must be a JSON object, got an array",
		4:  `type: "page/view" must be`,
		5:  "extra: unknown field",
		6:  "source_id: must be a string, got a number",
		7:  "record must be a JSON object, got a string",
		9:  "id: must not be empty",
		10: "version: required",
		11: `payload: contains \u0000`,
	}
	if len(b.Rejected) != len(want) {
		t.Errorf("%d rejections, want %d: %v", len(b.Rejected), len(want), b.Rejected)
	}
	for _, r := range b.Rejected {
		w, ok := want[r.Index]
		if !ok || !strings.HasPrefix(r.Error(), w) {
			t.Errorf("record %d rejected with %q, want prefix %q", r.Index, r.Error(), w)
		}
	}
}

func TestDecodeNDJSON(t *testing.T) {
	body := "\n" +
		`{"source_id":"web","type":"page_view","version":"1-0-0","event_time":1767323045123,"payload":{}}` + "\n" +
		"   \n" +
		`{"source_id":"web","type":"page_view",` + "\n" +
		`{"source_id":"web","type":"page_view","version":"1-0-0","event_time":1767323045124,"payload":{}} {}` + "\n" +
		`{"source_id":"web","type":"page_view","version":"1-0-0","event_time":1767323045125,"payload":{"k":"v"}}`
	b, err := Decode(strings.NewReader(body), FormatNDJSON)
	if err != nil {
		t.Fatal(err)
	}
	if b.Records != 4 || len(b.Events) != 2 || b.Index[0] != 0 || b.Index[1] != 3 {
		t.Fatalf("records %d, events at %v", b.Records, b.Index)
	}
	if len(b.Rejected) != 2 || b.Rejected[0].Index != 1 || b.Rejected[1].Index != 2 ||
		!strings.Contains(b.Rejected[1].Error(), "after top-level value") {
		t.Errorf("rejections %v", b.Rejected)
	}
	if string(b.Events[1].Payload) != `{"k":"v"}` {
		t.Errorf("payload %s", b.Events[1].Payload)
	}
}

func TestDecodeNotJSON(t *testing.T) {
	for name, body := range map[string]string{
		"empty":           "",
		"blank":           "  \n ",
		"text":            "hello world\nsecond line",
		"broken array":    `[{"source_id":"web"`,
		"array then junk": `[] x`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(body), FormatAuto)
			if !errors.Is(err, ErrNotJSON) {
				t.Errorf("err = %v, want ErrNotJSON", err)
			}
		})
	}
}

func TestDeriveIDIsCanonical(t *testing.T) {
	mk := func(payload, at string) string {
		b, err := Decode(strings.NewReader(`{"source_id":"shop","type":"purchase","version":"1-0-0","event_time":"`+at+`","payload":`+payload+`}`), FormatNDJSON)
		if err != nil || len(b.Events) != 1 {
			t.Fatalf("decode: %v %v", err, b.Rejected)
		}
		return b.Events[0].ID
	}
	a := mk(`{"b":[1,2.50,{"y":1,"x":"é\n"}],"a":"<&>"}`, "2026-01-02T03:04:05Z")
	same := mk(`{ "a" : "\u003c&\u003e", "b" : [1, 2.50, {"x":"\u00e9\n", "y":1}] }`, "2026-01-02T04:04:05+01:00")
	if a != same {
		t.Errorf("the same event spelled differently got ids %s and %s", a, same)
	}
	if other := mk(`{"b":[1,2.5,{"y":1,"x":"é\n"}],"a":"<&>"}`, "2026-01-02T03:04:05Z"); other == a {
		t.Error("numbers are hashed as written: 2.50 and 2.5 must differ")
	}
	if later := mk(`{"b":[1,2.50,{"y":1,"x":"é\n"}],"a":"<&>"}`, "2026-01-02T03:04:05.000001Z"); later == a {
		t.Error("a different event_time must give a different id")
	}
	// The documented input, computed independently.
	const want = "2026-01-02T03:04:05.000000Z\nshop\npurchase\n" + `{"a":"<&>","b":[1,2.50,{"x":"é\n","y":1}]}`
	if got := md5hex(want); got != a {
		t.Errorf("id %s, want md5 of the documented input %s", a, got)
	}
}

// The id derived while decoding (the payload known valid, its syntax not
// checked again) is DeriveID's, for demo events and payloads with
// escapes, nesting and white space.
func TestDecodedIDIsDeriveID(t *testing.T) {
	var body []byte
	payloads := []string{`{"a": "\u00e9\"x\\", "b": [1, {"z": null, "y": 2.0}]}`, "{ \"k\" :\t\"v\" }",
		`{"html":"<&>","e":"\ud83d\ude00"}`, `{"url":"https://x.example/p?q=1","n":-1.5e3,"t":true}`, `{}`}
	for i := range 1500 {
		id := ""
		if i%3 == 0 {
			id = fmt.Sprintf(`"id":"e-%d",`, i)
		}
		body = fmt.Appendf(body, `{%s"source_id":"web","type":"t%d","version":"1","event_time":"2026-01-02T03:04:%02d.678Z","payload":%s}`+"\n",
			id, i%4, i%60, payloads[i%len(payloads)])
	}
	lines := bytes.Split(bytes.TrimSpace(body), []byte("\n"))
	b, err := Decode(bytes.NewReader(body), FormatNDJSON)
	if err != nil || len(b.Rejected) > 0 || len(b.Events) != len(lines) {
		t.Fatalf("decode: %v %v", err, b.Rejected)
	}
	derived := 0
	for i, e := range b.Events {
		if bytes.Contains(lines[b.Index[i]], []byte(`"id":`)) {
			continue
		}
		derived++
		got := e.ID
		e.ID = ""
		if want := DeriveID(e); got != want {
			t.Fatalf("record %d: decoded id %s, DeriveID %s", b.Index[i], got, want)
		}
	}
	if derived < 1000 {
		t.Fatalf("only %d of %d records had no id", derived, len(b.Events))
	}
}

// Lines the validator refuses (nesting past encoding/json's 10,000 levels,
// a raw control byte in a string, a bad escape, a number cut short) are
// rejected with the reason encoding/json gives, and the good lines beside
// them are kept.
func TestDecodeNDJSONHostileLines(t *testing.T) {
	good := func(ms int) string {
		return fmt.Sprintf(`{"source_id":"web","type":"page_view","version":"1-0-0","event_time":%d,"payload":{"deep":%s}}`,
			1767323045000+ms, strings.Repeat("[", 9990)+strings.Repeat("]", 9990))
	}
	lines := []string{
		good(1),
		`{"source_id":"web","payload":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		"{\"source_id\":\"web\",\"payload\":{\"a\":\"x\x01y\"}}",
		`{"source_id":"web","payload":{"a":"\q"}}`,
		`{"source_id":"web","payload":{"a":1.}}`,
		good(2),
	}
	b, err := Decode(strings.NewReader(strings.Join(lines, "\n")), FormatNDJSON)
	if err != nil {
		t.Fatal(err)
	}
	if b.Records != 6 || len(b.Events) != 2 || b.Index[0] != 0 || b.Index[1] != 5 {
		t.Fatalf("records %d, events at %v, rejected %v", b.Records, b.Index, b.Rejected)
	}
	want := []string{"exceeded max depth", "invalid character '\\x01' in string literal",
		"invalid character 'q' in string escape code", "invalid character '}' after decimal point"}
	if len(b.Rejected) != len(want) {
		t.Fatalf("rejections %v", b.Rejected)
	}
	for i, r := range b.Rejected {
		if r.Index != i+1 || !strings.Contains(r.Error(), want[i]) {
			t.Errorf("rejection %d: %v, want record %d with %q", i, r, i+1, want[i])
		}
	}
}
