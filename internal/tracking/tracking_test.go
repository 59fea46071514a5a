package tracking_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/tracking"
)

var received = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func mapOne(t *testing.T, kind tracking.Kind, msg string) (map[string]any, string, string, time.Time) {
	t.Helper()
	b, err := tracking.Parse([]byte(msg), kind)
	if err != nil {
		t.Fatal(err)
	}
	out := b.Map("site", received)
	if len(out.Rejected) > 0 || len(out.Events) != 1 {
		t.Fatalf("%s: rejected %v", msg, out.Rejected)
	}
	e := out.Events[0]
	if e.SourceID != "site" || e.Version != tracking.Version {
		t.Errorf("event type %+v", e.EventTypeKey)
	}
	var payload map[string]any
	if err := json.Unmarshal(e.Payload, &payload); err != nil {
		t.Fatalf("payload %s: %v", e.Payload, err)
	}
	return payload, e.Type, e.ID, e.EventTime
}

// TestMapping: each call kind becomes one event, typed by its kind
// (track by its event name), with the message as payload: writeKey left
// out, the corrected time, receivedAt set.
func TestMapping(t *testing.T) {
	common := `"anonymousId":"a1","context":{"ip":"1.2.3.4"},"integrations":{"All":true},"writeKey":"secret","timestamp":"2026-01-02T03:00:00.000Z","sentAt":"2026-01-02T03:00:01Z"`
	// The client's clock: 1 s from the event to sending; received at
	// 03:04:05, so the event happened at 03:04:04.
	want := map[string]any{"anonymousId": "a1", "context": map[string]any{"ip": "1.2.3.4"}, "integrations": map[string]any{"All": true},
		"timestamp": "2026-01-02T03:04:04Z", "originalTimestamp": "2026-01-02T03:00:00.000Z", "sentAt": "2026-01-02T03:00:01Z", "receivedAt": "2026-01-02T03:04:05Z"}
	for _, c := range []struct {
		kind     tracking.Kind
		fields   string
		wantType string
		extra    map[string]any
	}{
		{tracking.Identify, `"userId":"u1","traits":{"email":"ann@x.io"}`, "identify", map[string]any{"userId": "u1", "traits": map[string]any{"email": "ann@x.io"}}},
		{tracking.Track, `"event":"Order Completed","properties":{"total":9.5}`, "Order Completed", map[string]any{"event": "Order Completed", "properties": map[string]any{"total": 9.5}}},
		{tracking.Page, `"name":"Home","properties":{"url":"https://x.io/"}`, "page", map[string]any{"name": "Home", "properties": map[string]any{"url": "https://x.io/"}}},
		{tracking.Screen, `"name":"Cart"`, "screen", map[string]any{"name": "Cart"}},
		{tracking.Group, `"groupId":"g1","traits":{"plan":"pro"}`, "group", map[string]any{"groupId": "g1", "traits": map[string]any{"plan": "pro"}}},
		{tracking.Alias, `"previousId":"a0","userId":"u1"`, "alias", map[string]any{"previousId": "a0", "userId": "u1"}},
	} {
		t.Run(string(c.kind), func(t *testing.T) {
			msg := fmt.Sprintf(`{"messageId":"m-%s",%s,%s}`, c.kind, c.fields, common)
			payload, typ, id, at := mapOne(t, c.kind, msg)
			w := map[string]any{"type": string(c.kind), "messageId": "m-" + string(c.kind)}
			for k, v := range want {
				w[k] = v
			}
			for k, v := range c.extra {
				w[k] = v
			}
			if !reflect.DeepEqual(payload, w) {
				t.Errorf("payload\n%v\nwant\n%v", payload, w)
			}
			if typ != c.wantType || id != "m-"+string(c.kind) || !at.Equal(time.Date(2026, 1, 2, 3, 4, 4, 0, time.UTC)) {
				t.Errorf("type %q id %q time %v", typ, id, at)
			}
		})
	}
}

// TestTime: the clock-skew correction and its fallbacks.
func TestTime(t *testing.T) {
	for _, c := range []struct {
		name, fields string
		batchSentAt  string
		want         string
	}{
		{"skewed clock, 10 min slow", `"timestamp":"2026-01-02T02:50:00Z","sentAt":"2026-01-02T02:54:05Z"`, "", "2026-01-02T03:00:00Z"},
		{"originalTimestamp when no timestamp", `"originalTimestamp":"2026-01-02T02:50:00Z","sentAt":"2026-01-02T02:54:05Z"`, "", "2026-01-02T03:00:00Z"},
		{"the batch's sentAt", `"timestamp":"2026-01-02T02:50:00Z"`, `"2026-01-02T02:54:05Z"`, "2026-01-02T03:00:00Z"},
		{"no sentAt: as sent", `"timestamp":"2020-05-06T07:08:09.123456+02:00"`, "", "2020-05-06T05:08:09.123456Z"},
		{"no time: received", ``, "", "2026-01-02T03:04:05Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := `{"type":"track","event":"x","userId":"u"` + strings.TrimSuffix(","+c.fields, ",") + `}`
			body := `{"batch":[` + msg + `]`
			if c.batchSentAt != "" {
				body += `,"sentAt":` + c.batchSentAt
			}
			b, err := tracking.Parse([]byte(body+"}"), "")
			if err != nil {
				t.Fatal(err)
			}
			out := b.Map("site", received)
			if len(out.Events) != 1 {
				t.Fatalf("rejected %v", out.Rejected)
			}
			if got := out.Events[0].EventTime.Format(time.RFC3339Nano); got != c.want {
				t.Errorf("time %s, want %s", got, c.want)
			}
			var p struct{ Timestamp string }
			_ = json.Unmarshal(out.Events[0].Payload, &p)
			if p.Timestamp != c.want {
				t.Errorf("payload timestamp %s, want %s", p.Timestamp, c.want)
			}
		})
	}
}

// TestDerivedID: a message without messageId gets an id from its bytes,
// the same when it is sent again later (another sentAt, receivedAt).
func TestDerivedID(t *testing.T) {
	id := func(msg string, at time.Time) string {
		b, err := tracking.Parse([]byte(msg), tracking.Track)
		if err != nil {
			t.Fatal(err)
		}
		out := b.Map("site", at)
		if len(out.Events) != 1 {
			t.Fatalf("rejected %v", out.Rejected)
		}
		var p struct{ MessageID string }
		_ = json.Unmarshal(out.Events[0].Payload, &p)
		if p.MessageID != out.Events[0].ID {
			t.Errorf("payload messageId %q, id %q", p.MessageID, out.Events[0].ID)
		}
		return out.Events[0].ID
	}
	a := id(`{"event":"x","userId":"u","properties":{"a":1,"b":2},"sentAt":"2026-01-01T00:00:00Z","writeKey":"k"}`, received)
	b := id(`{"userId":"u", "properties":{"b":2,"a":1},"event":"x","sentAt":"2026-01-01T00:00:09Z"}`, received.Add(time.Hour))
	c := id(`{"event":"x","userId":"u","properties":{"a":1,"b":3}}`, received)
	if a != b || a == c || len(a) != 32 {
		t.Errorf("ids %q %q %q: want the first two equal, the third apart", a, b, c)
	}
}

// TestRefused: each bad message is refused with its index and field;
// the good ones beside it are kept.
func TestRefused(t *testing.T) {
	good := `{"type":"track","event":"ok","userId":"u"}`
	bad := []struct{ msg, field, reason string }{
		{`{"type":"track","event":"x"}`, "userId", "userId or anonymousId"},
		{`{"type":"track","userId":"u"}`, "event", "required in a track call"},
		{`{"type":"jump","userId":"u"}`, "type", `unknown call kind "jump"`},
		{`{"userId":"u"}`, "type", "required in a batch"},
		{`{"type":7,"userId":"u"}`, "type", "must be a string, got a number"},
		{`{"type":"track","event":"x","userId":"u","properties":[1]}`, "properties", "must be an object, got an array"},
		{`{"type":"identify","userId":"u","traits":"ann"}`, "traits", "must be an object, got a string"},
		{`{"type":"identify","userId":"u","context":7}`, "context", "must be an object, got a number"},
		{`{"type":"group","userId":"u"}`, "groupId", "required"},
		{`{"type":"alias","userId":"u"}`, "previousId", "required"},
		{`{"type":"alias","previousId":"a"}`, "userId", "required"},
		{`{"type":"track","event":"a/b","userId":"u"}`, "event", "must be"},
		{`{"type":"track","event":"x","userId":{"id":1}}`, "userId", "must be a string"},
		{`{"type":"track","event":"x","userId":"u","timestamp":"yesterday"}`, "timestamp", "not an ISO 8601 time"},
		{`{"type":"track","event":"x","userId":"u","timestamp":1767323045000}`, "timestamp", "must be an ISO 8601 string"},
		{`{"type":"track","event":"x","userId":"u","timestamp":"0001-01-02T00:00:00Z","sentAt":"9999-01-01T00:00:00Z"}`, "sentAt", "outside years 1 to 9999"},
		{`{"type":"track","event":"x","userId":"u","messageId":""}`, "messageId", "must be 1 to"},
		{`{"type":"track","event":"x","userId":"u","properties":{"s":"\ud800"}}`, "properties", `\ud800, half of a UTF-16 surrogate pair`},
		{`{"type":"track","event":"x","userId":"u","properties":{"s":"a\u0000"}}`, "properties", `\u0000`},
		{`{"type":"track","event":"x","userId":"u","properties":{"n":1e400000}}`, "properties", "exponent"},
		{`{"type":"track","event":"x","userId":"u","properties":{"s":"` + strings.Repeat("x", tracking.MessageMax) + `"}}`, "", "over the limit of 32768"},
		{`"a string"`, "", "must be a JSON object, got a string"},
	}
	msgs := []string{good}
	for _, b := range bad {
		msgs = append(msgs, b.msg, good)
	}
	body, err := tracking.Parse([]byte(`{"batch":[`+strings.Join(msgs, ",")+`]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	out := body.Map("site", received)
	if len(out.Events) != len(bad)+1 || len(out.Rejected) != len(bad) {
		t.Fatalf("%d events, %d rejected: %v", len(out.Events), len(out.Rejected), out.Rejected)
	}
	for i, r := range out.Rejected {
		b := bad[i]
		if r.Index != 2*i+1 || r.Field != b.field || !strings.Contains(r.Reason, b.reason) {
			t.Errorf("%s: rejected %d %q %q, want %d %q %q", b.msg[:min(len(b.msg), 80)], r.Index, r.Field, r.Reason, 2*i+1, b.field, b.reason)
		}
	}
	for i, idx := range out.Index {
		if idx != 2*i {
			t.Errorf("good message at %d, want %d", idx, 2*i)
		}
	}
}

// TestParseErrors: bodies that hold no message at all.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		body string
		kind tracking.Kind
		want error
		msg  string
	}{
		{`{"userId":`, tracking.Track, tracking.ErrMalformed, "invalid JSON"},
		{``, tracking.Track, tracking.ErrMalformed, "invalid JSON"},
		{`[1]`, tracking.Track, tracking.ErrMalformed, "must be a JSON object, got an array"},
		{`{"messages":[]}`, "", tracking.ErrMalformed, `no "batch"`},
		{`{"batch":{}}`, "", tracking.ErrMalformed, "must be a JSON array"},
		{strings.Repeat("[", 20000) + strings.Repeat("]", 20000), tracking.Track, tracking.ErrMalformed, "invalid JSON"},
		{`{"batch":[` + strings.Repeat(" ", tracking.BatchMax) + `]}`, "", tracking.ErrTooLarge, "over the 512000"},
		{`{"batch":[],"context":[1]}`, "", tracking.ErrMalformed, "context must be an object, got an array"},
		{`{"batch":[],"integrations":"all"}`, "", tracking.ErrMalformed, "integrations must be an object, got a string"},
		{`{"batch":[],"context":{"ip":"\ud800"}}`, "", tracking.ErrMalformed, "context contains \\ud800"},
	} {
		_, err := tracking.Parse([]byte(c.body), c.kind)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%.40s: %v, want %v with %q", c.body, err, c.want, c.msg)
		}
	}
	b, err := tracking.Parse([]byte(`{"batch":[{"type":"page","writeKey":"k2"}],"sentAt":"2026-01-01T00:00:00Z"}`), "")
	if err != nil || b.WriteKey != "k2" || b.Len() != 1 {
		t.Errorf("write key of a message: %+v %v", b, err)
	}
	b, err = tracking.Parse([]byte(`{"batch":[{"writeKey":"k2"}],"writeKey":"k1"}`), "")
	if err != nil || b.WriteKey != "k1" {
		t.Errorf("write key of the batch: %+v %v", b, err)
	}
}

// TestKeysEscaped: keys with escapes are kept as keys, and what comes
// out is valid JSON.
func TestKeysEscaped(t *testing.T) {
	payload, _, _, _ := mapOne(t, tracking.Track, " \n\t"+`{"event":"x","userId":"u","pro\"ps\u00e9":{"a\nb":1},"\u0074ype":"identify"}`+"\n")
	if payload["pro\"psé"] == nil || payload["type"] != "track" {
		t.Errorf("payload %v", payload)
	}
}

// FuzzParseMap: whatever the body, no panic, and every payload mapped is
// valid JSON that keeps the message's members.
func FuzzParseMap(f *testing.F) {
	for _, s := range []string{
		`{"batch":[{"type":"track","event":"x","userId":"u","properties":{"a":[1,{"b":"\u00e9"}]}}],"sentAt":"2026-01-01T00:00:00Z"}`,
		`{"batch":[{"type":"identify","anonymousId":7,"traits":{},"timestamp":"2026-01-01T00:00:00+02:00","k\"ey":null}]}`,
		`{"batch":[{"type":"alias","previousId":"a","userId":"b","messageId":"m","writeKey":"w"}, 5, "x", {"type":"page"}]}`,
		` {"batch" : [ {"type" : "group" , "groupId" : "g" , "userId" : "u" } ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := tracking.Parse(body, "")
		if err != nil {
			return
		}
		out := b.Map("site", received)
		if len(out.Events)+len(out.Rejected) != b.Len() {
			t.Fatalf("%d events and %d rejected of %d messages", len(out.Events), len(out.Rejected), b.Len())
		}
		for _, e := range out.Events {
			var m map[string]any
			if err := json.Unmarshal(e.Payload, &m); err != nil {
				t.Fatalf("payload %s: %v", e.Payload, err)
			}
			if m["type"] == nil || m["messageId"] != e.ID || m["receivedAt"] == nil || m["writeKey"] != nil {
				t.Fatalf("payload %s", e.Payload)
			}
		}
	})
}

// TestBatchContext: the context and integrations of a batch envelope
// apply to every message: a message without its own gets them, one with
// its own keeps its members and gets those it lacks.
func TestBatchContext(t *testing.T) {
	body := `{"batch":[
		{"type":"track","event":"A","userId":"u1"},
		{"type":"track","event":"B","userId":"u2","context":{"ip":"10.0.0.2","app":{"name":"own"}},"integrations":null},
		{"type":"track","event":"C","userId":"u3","context":{ }}
	],"context":{"ip":"10.0.0.1","library":{"name":"batcher"}},"integrations":{"All":false}}`
	b, err := tracking.Parse([]byte(body), "")
	if err != nil {
		t.Fatal(err)
	}
	out := b.Map("site", received)
	if len(out.Rejected) > 0 || len(out.Events) != 3 {
		t.Fatalf("rejected %v", out.Rejected)
	}
	want := []map[string]any{
		{"ip": "10.0.0.1", "library": map[string]any{"name": "batcher"}},
		{"ip": "10.0.0.2", "app": map[string]any{"name": "own"}, "library": map[string]any{"name": "batcher"}},
		{"ip": "10.0.0.1", "library": map[string]any{"name": "batcher"}},
	}
	for i, e := range out.Events {
		var p struct {
			Context      map[string]any `json:"context"`
			Integrations map[string]any `json:"integrations"`
		}
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatalf("payload %s: %v", e.Payload, err)
		}
		if !reflect.DeepEqual(p.Context, want[i]) || !reflect.DeepEqual(p.Integrations, map[string]any{"All": false}) {
			t.Errorf("message %d: context %v, integrations %v; payload %s", i, p.Context, p.Integrations, e.Payload)
		}
	}
}
