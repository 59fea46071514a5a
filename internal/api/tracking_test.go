package api_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// basic is the Authorization header of a write key, as analytics-node
// sends it.
func basic(writeKey string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(writeKey+":")), "Content-Type": "application/json"}
}

// trackingServer serves the API with a bootstrap key and returns it with
// a write key of source site (allowed from https://shop.example.com).
func trackingServer(t *testing.T, backend string) (*testServer, string) {
	t.Helper()
	s := newServer(t, backend, api.Config{APIKeys: []string{"boot"}})
	k := s.newKey(t, "boot", `{"name":"site","scopes":["ingest"],"sources":["site"],"allowed_origins":["https://Shop.example.com/"]}`)
	return s, k.Secret
}

// sourceEvents lists the events of a source, oldest first.
func (s *testServer) sourceEvents(t *testing.T, source string) []store.Event {
	t.Helper()
	r := s.do(t, "GET", "/v1/events?limit=1000&source_id="+source, withKey("boot"), nil)
	if r.status != 200 {
		t.Fatalf("GET /v1/events: %d %s", r.status, r.body)
	}
	return decode[struct {
		Events []store.Event `json:"events"`
	}](t, r).Events
}

type trackingAnswer struct {
	Success bool `json:"success"`
	Stored  int  `json:"stored"`
	Error   struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Rejected []struct {
		Index int    `json:"index"`
		Field string `json:"field"`
		Error string `json:"error"`
	} `json:"rejected"`
}

func expectSuccess(t *testing.T, r response) {
	t.Helper()
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"success":true}` {
		t.Fatalf("answer %d %s, want 200 {\"success\":true}", r.status, r.body)
	}
}

// TestTrackingCalls: every call kind through its path becomes one event
// of the write key's source, typed by kind (track by its name), with the
// message as payload and the clock-skew-corrected time.
func TestTrackingCalls(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, key := trackingServer(t, backend)
			// The client's clock is an hour behind: sent 2 s after the
			// event by its clock.
			times := `"timestamp":"2026-01-02T02:00:00.000Z","sentAt":"2026-01-02T02:00:02.000Z"`
			calls := []struct{ path, body, typ string }{
				{"/v1/identify", `{"messageId":"m1","anonymousId":"a1","userId":"u1","traits":{"email":"Ann@X.io"},` + times + `}`, "identify"},
				{"/v1/track", `{"messageId":"m2","userId":"u1","event":"Order Completed","properties":{"total":12.5},` + times + `}`, "Order Completed"},
				{"/v1/page", `{"messageId":"m3","anonymousId":"a1","name":"Home","properties":{"url":"https://x.io/"},` + times + `}`, "page"},
				{"/v1/screen", `{"messageId":"m4","userId":"u1","name":"Cart",` + times + `}`, "screen"},
				{"/v1/group", `{"messageId":"m5","userId":"u1","groupId":"g1","traits":{"plan":"pro"},` + times + `}`, "group"},
				{"/v1/alias", `{"messageId":"m6","previousId":"a1","userId":"u1",` + times + `}`, "alias"},
				{"/v1/t", `{"messageId":"m7","anonymousId":"a1","event":"Clicked",` + times + `}`, "Clicked"},
			}
			before := time.Now().UTC().Add(-time.Second)
			for _, c := range calls {
				expectSuccess(t, s.do(t, "POST", c.path, basic(key), []byte(c.body)))
			}
			after := time.Now().UTC().Add(time.Second)
			events := s.sourceEvents(t, "site")
			if len(events) != len(calls) {
				t.Fatalf("%d events, want %d", len(events), len(calls))
			}
			for i, e := range events {
				c := calls[i]
				var p map[string]any
				if err := json.Unmarshal(e.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if e.ID != fmt.Sprintf("m%d", i+1) || e.Type != c.typ || e.Version != "1" || p["writeKey"] != nil {
					t.Errorf("%s: event %s %s/%s, payload %v", c.path, e.ID, e.Type, e.Version, p)
				}
				received, err := time.Parse(time.RFC3339Nano, fmt.Sprint(p["receivedAt"]))
				if err != nil || received.Before(before) || received.After(after) {
					t.Errorf("%s: receivedAt %v", c.path, p["receivedAt"])
				}
				// timestamp = receivedAt - (sentAt - originalTimestamp).
				if want := received.Add(-2 * time.Second); !e.EventTime.Equal(want) || p["timestamp"] != want.Format(time.RFC3339Nano) {
					t.Errorf("%s: time %v, payload timestamp %v, want %v", c.path, e.EventTime, p["timestamp"], want)
				}
				if p["originalTimestamp"] != "2026-01-02T02:00:00.000Z" || p["sentAt"] != "2026-01-02T02:00:02.000Z" {
					t.Errorf("%s: payload %v", c.path, p)
				}
			}
			var p struct {
				Type       string             `json:"type"`
				Event      string             `json:"event"`
				Properties map[string]float64 `json:"properties"`
			}
			if err := json.Unmarshal(events[1].Payload, &p); err != nil || p.Type != "track" || p.Event != "Order Completed" || p.Properties["total"] != 12.5 {
				t.Errorf("track payload %s", events[1].Payload)
			}
		})
	}
}

// TestTrackingBatchRetry: a batch sent twice (analytics-node retries
// after a timeout) is stored once, with messageId as the event id or,
// without one, an id derived from the message; an id another source
// used is a duplicate there.
func TestTrackingBatchRetry(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, key := trackingServer(t, backend)
			batch := func(sentAt string) []byte {
				return []byte(`{"batch":[
					{"type":"identify","messageId":"node-1","userId":"u1","traits":{"email":"a@x.io"},"timestamp":"2026-01-02T03:04:05.000Z"},
					{"type":"track","userId":"u1","event":"Signed Up","timestamp":"2026-01-02T03:04:06.000Z"},
					{"type":"page","messageId":"node-3","anonymousId":"a9","timestamp":"2026-01-02T03:04:07.000Z"}
				],"sentAt":"` + sentAt + `"}`)
			}
			for _, path := range []string{"/v1/batch", "/v1/import", "/v1/b"} {
				expectSuccess(t, s.do(t, "POST", path, basic(key), batch(time.Now().UTC().Format(time.RFC3339Nano))))
			}
			if events := s.sourceEvents(t, "site"); len(events) != 3 || events[0].ID != "node-1" || len(events[1].ID) != 32 || events[2].ID != "node-3" {
				t.Fatalf("events after three sends: %+v", events)
			}
			other := s.newKey(t, "boot", `{"name":"app","scopes":["ingest"],"sources":["app"]}`)
			expectSuccess(t, s.do(t, "POST", "/v1/track", basic(other.Secret), []byte(`{"messageId":"node-1","userId":"u2","event":"Opened"}`)))
			expectSuccess(t, s.do(t, "POST", "/v1/track", basic(other.Secret), []byte(`{"messageId":"app-1","userId":"u2","event":"Opened"}`)))
			if events := s.sourceEvents(t, "app"); len(events) != 1 || events[0].ID != "app-1" {
				t.Errorf("app's events %+v: node-1 is taken by site", events)
			}
		})
	}
}

// TestTrackingWriteKeys: the key as HTTP Basic user name, in the body or
// in x-api-key; keys that are no write keys are refused, saying why.
func TestTrackingWriteKeys(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, key := trackingServer(t, backend)
			msg := func(id string) []byte { return []byte(`{"messageId":"` + id + `","userId":"u","event":"x"}`) }
			expectSuccess(t, s.do(t, "POST", "/v1/track", basic(key), msg("basic")))
			expectSuccess(t, s.do(t, "POST", "/v1/track", map[string]string{"Content-Type": "text/plain"},
				[]byte(`{"messageId":"body","userId":"u","event":"x","writeKey":"`+key+`"}`)))
			expectSuccess(t, s.do(t, "POST", "/v1/batch", map[string]string{"Content-Type": "text/plain"},
				[]byte(`{"batch":[{"type":"track","messageId":"batch-body","userId":"u","event":"x"}],"writeKey":"`+key+`"}`)))
			expectSuccess(t, s.do(t, "POST", "/v1/track", withKey(key), msg("header")))
			if n := len(s.sourceEvents(t, "site")); n != 4 {
				t.Errorf("%d events, want 4", n)
			}

			several := s.newKey(t, "boot", `{"name":"two","scopes":["ingest"],"sources":["site","app"]}`)
			all := s.newKey(t, "boot", `{"name":"all","scopes":["ingest"]}`)
			reader := s.newKey(t, "boot", `{"name":"reader","scopes":["read"]}`)
			for _, c := range []struct {
				name        string
				header      map[string]string
				body        []byte
				status      int
				code, words string
			}{
				{"no key", jsonHeader, msg("x"), 401, "unauthorized", "missing write key"},
				{"wrong key", basic("weft_wrong"), msg("x"), 401, "unauthorized", "invalid write key"},
				{"wrong key in the body", jsonHeader, []byte(`{"userId":"u","event":"x","writeKey":"nope"}`), 401, "unauthorized", "invalid write key"},
				{"several sources", basic(several.Secret), msg("x"), 403, "forbidden", `2 sources (app, site)`},
				{"no source", basic(all.Secret), msg("x"), 403, "forbidden", `key "all" is no write key: a write key has scope "ingest" limited to exactly one source, and this one has no sources`},
				{"admin key", basic("boot"), msg("x"), 403, "forbidden", "POST /v1/keys"},
				{"read key", basic(reader.Secret), msg("x"), 403, "forbidden", `lacks scope "ingest"`},
				{"no key, bad body", jsonHeader, []byte(`{"userId":`), 401, "unauthorized", "missing write key"},
			} {
				expectError(t, s.do(t, "POST", "/v1/track", c.header, c.body), c.status, c.code, c.words)
			}
			if n := len(s.sourceEvents(t, "site")) + len(s.sourceEvents(t, "app")); n != 4 {
				t.Errorf("%d events after refusals, want 4", n)
			}
		})
	}
}

// TestTrackingOpenMode: with no key configured (the quickstart), the
// write key names the source.
func TestTrackingOpenMode(t *testing.T) {
	s := newServer(t, "duckdb", api.Config{})
	expectSuccess(t, s.do(t, "POST", "/v1/p", map[string]string{"Content-Type": "text/plain", "Origin": "http://localhost:3000"},
		[]byte(`{"anonymousId":"a1","writeKey":"web","messageId":"p1"}`)))
	r := s.do(t, "GET", "/v1/events?source_id=web", nil, nil)
	if events := decode[struct{ Events []store.Event }](t, r).Events; len(events) != 1 || events[0].Type != "page" {
		t.Fatalf("%s", r.body)
	}
	expectError(t, s.do(t, "POST", "/v1/p", basic("a/b"), []byte(`{"anonymousId":"a1"}`)), 401, "unauthorized", "names the source")
	expectError(t, s.do(t, "POST", "/v1/p", nil, []byte(`{"anonymousId":"a1"}`)), 401, "unauthorized", "names the source")
}

// TestTrackingBadMessages: every bad-input class, in one batch beside
// good messages, which are stored; the 400 names each bad message's
// index and field.
func TestTrackingBadMessages(t *testing.T) {
	bad := []struct{ msg, field, words string }{
		{`{"type":"track","event":"x"}`, "userId", "userId or anonymousId"},
		{`{"type":"track","userId":"u","event":"x","properties":"cheap"}`, "properties", "must be an object"},
		{`{"type":"identify","userId":"u","traits":[1]}`, "traits", "must be an object"},
		{`{"type":"identify","userId":"u","context":true}`, "context", "must be an object"},
		{`{"type":"fly","userId":"u"}`, "type", "unknown call kind"},
		{`{"type":"track","userId":"u"}`, "event", "required"},
		{`{"type":"track","userId":"u","event":"x","properties":{"s":"` + strings.Repeat("y", 33<<10) + `"}}`, "", "over the limit of 32768"},
		{`{"type":"track","userId":"u","event":"x","properties":{"s":"\udc00"}}`, "properties", "surrogate"},
		{`{"type":"track","userId":"u\u0000","event":"x"}`, "userId", `\u0000`},
		{`{"type":"track","userId":"u","event":"x","properties":{"n":1e99999}}`, "properties", "exponent"},
		{`{"type":"track","userId":"u","event":"x","properties":{"n":` + strings.Repeat("9", 2000) + `}}`, "properties", "2000 characters"},
		{`{"type":"track","userId":"u","event":"x","timestamp":"soon"}`, "timestamp", "ISO 8601"},
	}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, key := trackingServer(t, backend)
			deep := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
			msgs := []string{`{"type":"track","messageId":"good-0","userId":"u","event":"x","properties":{"deep":` + deep + `,"big":1e300}}`}
			for i, b := range bad {
				msgs = append(msgs, b.msg, fmt.Sprintf(`{"type":"page","messageId":"good-%d","anonymousId":"a"}`, i+1))
			}
			r := s.do(t, "POST", "/v1/batch", basic(key), []byte(`{"batch":[`+strings.Join(msgs, ",")+`]}`))
			a := decode[trackingAnswer](t, r)
			if r.status != 400 || a.Success || a.Error.Code != "invalid_message" || a.Stored != len(bad)+1 || len(a.Rejected) != len(bad) ||
				!strings.Contains(a.Error.Message, fmt.Sprintf("the other %d of %d messages were stored", len(bad)+1, len(msgs))) {
				t.Fatalf("%d %.2000s", r.status, r.body)
			}
			for i, rej := range a.Rejected {
				if b := bad[i]; rej.Index != 2*i+1 || rej.Field != b.field || !strings.Contains(rej.Error, b.words) {
					t.Errorf("message %d refused as %+v, want field %q and %q", 2*i+1, rej, b.field, b.words)
				}
			}
			if events := s.sourceEvents(t, "site"); len(events) != len(bad)+1 {
				t.Errorf("%d events stored, want %d", len(events), len(bad)+1)
			}
			// A single call's bad message: index 0.
			r = s.do(t, "POST", "/v1/identify", basic(key), []byte(`{"traits":{}}`))
			if a := decode[trackingAnswer](t, r); r.status != 400 || len(a.Rejected) != 1 || a.Rejected[0].Index != 0 || a.Rejected[0].Field != "userId" ||
				!strings.HasPrefix(a.Error.Message, "message 0: userId:") {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
	}
}

// TestTrackingBodies: formats and limits of whole bodies.
func TestTrackingBodies(t *testing.T) {
	s, key := trackingServer(t, "duckdb")
	msg := func(i int) string {
		return fmt.Sprintf(`{"type":"track","messageId":"m%d","userId":"u","event":"x","properties":{"pad":"%s"}}`, i, strings.Repeat("p", 1000))
	}
	batch := func(n int) []byte {
		var msgs []string
		for i := range n {
			msgs = append(msgs, msg(i))
		}
		return []byte(`{"batch":[` + strings.Join(msgs, ",") + `]}`)
	}
	gz := basic(key)
	gz["Content-Encoding"] = "gzip"
	gz["Content-Type"] = "text/plain"
	expectSuccess(t, s.do(t, "POST", "/v1/batch", gz, gzipped(t, batch(400)))) // 420 KB
	expectError(t, s.do(t, "POST", "/v1/batch", basic(key), batch(500)), 413, "body_too_large", "500 KB")
	expectError(t, s.do(t, "POST", "/v1/batch", gz, gzipped(t, batch(1000))), 413, "body_too_large", "after gzip decoding")
	expectError(t, s.do(t, "POST", "/v1/batch", basic(key), []byte(`{"batch":[{"type":"track",`)), 400, "invalid_body", "invalid JSON")
	expectError(t, s.do(t, "POST", "/v1/batch", basic(key), []byte(`[]`)), 400, "invalid_body", "must be a JSON object")
	expectError(t, s.do(t, "POST", "/v1/track", basic(key), []byte(strings.Repeat("[", 20000)+strings.Repeat("]", 20000))), 400, "invalid_body", "invalid JSON")
	xml := basic(key)
	xml["Content-Type"] = "application/xml"
	expectError(t, s.do(t, "POST", "/v1/track", xml, []byte(`<track/>`)), 415, "unsupported_media_type", "text/plain")
	expectSuccess(t, s.do(t, "POST", "/v1/batch", basic(key), []byte(`{"batch":[]}`)))
	if n := len(s.sourceEvents(t, "site")); n != 400 {
		t.Errorf("%d events, want 400", n)
	}
}

// TestTrackingCORS: preflights are answered; a call from a browser
// origin is let through when the key allows the origin, else refused.
func TestTrackingCORS(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, key := trackingServer(t, backend)
			r := s.do(t, "OPTIONS", "/v1/batch", map[string]string{"Origin": "https://shop.example.com",
				"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}, nil)
			h := r.header
			if r.status != 204 || h.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
				h.Get("Access-Control-Allow-Headers") != "authorization,content-type" || h.Get("Access-Control-Max-Age") != "86400" {
				t.Fatalf("preflight: %d %v", r.status, h)
			}
			plain := func(origin string) map[string]string {
				return map[string]string{"Content-Type": "text/plain", "Origin": origin}
			}
			body := func(k, id string) []byte {
				return []byte(`{"anonymousId":"a1","messageId":"` + id + `","writeKey":"` + k + `"}`)
			}
			r = s.do(t, "POST", "/v1/p", plain("https://shop.example.com"), body(key, "p1"))
			expectSuccess(t, r)
			if r.header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
				t.Errorf("allowed origin: %v", r.header)
			}
			r = s.do(t, "POST", "/v1/p", plain("https://evil.example.com"), body(key, "p2"))
			expectError(t, r, 403, "origin_not_allowed", "allowed_origins")
			if r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("refused origin got %q", r.header.Get("Access-Control-Allow-Origin"))
			}
			noOrigins := s.newKey(t, "boot", `{"name":"server","scopes":["ingest"],"sources":["site"]}`)
			expectError(t, s.do(t, "POST", "/v1/p", plain("https://shop.example.com"), body(noOrigins.Secret, "p3")), 403, "origin_not_allowed", "allowed_origins")
			expectSuccess(t, s.do(t, "POST", "/v1/p", map[string]string{"Content-Type": "text/plain"}, body(noOrigins.Secret, "p4")))
			anyOrigin := s.newKey(t, "boot", `{"name":"any","scopes":["ingest"],"sources":["site"],"allowed_origins":["*"]}`)
			expectSuccess(t, s.do(t, "POST", "/v1/p", plain("http://localhost:8080"), body(anyOrigin.Secret, "p5")))
			if n := len(s.sourceEvents(t, "site")); n != 3 {
				t.Errorf("%d events, want 3", n)
			}
			// Listed with the key; a bad origin is refused at creation.
			r = s.do(t, "GET", "/v1/keys", withKey("boot"), nil)
			if !strings.Contains(string(r.body), `"allowed_origins":["https://shop.example.com"]`) || !strings.Contains(string(r.body), `"allowed_origins":[]`) {
				t.Errorf("GET /v1/keys: %s", r.body)
			}
			expectError(t, s.do(t, "POST", "/v1/keys", withKey("boot"), []byte(`{"name":"x","scopes":["ingest"],"sources":["site"],"allowed_origins":["https://x.io/path"]}`)),
				400, "invalid_parameters", "scheme://host[:port]")
		})
	}
}

// TestTrackingSlowClient: a body that stops arriving ends with 408.
func TestTrackingSlowClient(t *testing.T) {
	s := newServer(t, "duckdb", api.Config{BodyReadTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n{\"userId\":")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 408") {
		t.Errorf("stalled body: %q %v", line, err)
	}
}

// TestTrackingStitching: with the demo weft.yaml, an anonymous page view,
// then identify(userId, traits.email), then a track by userId are one
// person; an alias joins previousId's entity to it. A track name with
// spaces works as an attribute's type.
func TestTrackingStitching(t *testing.T) {
	cfg := strings.Replace(string(demo.Config), "\nattributes:\n", `
attributes:
  - {id: site_order_total, type: sum, data_type: float, sources: [site], types: ["Order Completed"], value: "(payload->'properties'->>'total')::numeric"}
`, 1)
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, key := trackingServer(t, backend)
			if r := s.do(t, "PUT", "/v1/config", withKey("boot"), []byte(cfg)); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			send := func(path, body string) { t.Helper(); expectSuccess(t, s.do(t, "POST", path, basic(key), []byte(body))) }
			stitch := func() {
				t.Helper()
				for _, path := range []string{"/v1/stitching/run", "/v1/attributes/run"} {
					if r := s.do(t, "POST", path, withKey("boot"), []byte(`{}`)); r.status != 200 {
						t.Fatalf("%s: %d %s", path, r.status, r.body)
					}
				}
			}
			person := func(identifier string) (entity, map[string]any) {
				t.Helper()
				r := s.do(t, "GET", "/v1/entities?identifier="+identifier, withKey("boot"), nil)
				if r.status != 200 {
					t.Fatalf("%s: %d %s", identifier, r.status, r.body)
				}
				return decode[entity](t, r), decode[struct {
					Attributes map[string]any `json:"attributes"`
				}](t, r).Attributes
			}
			send("/v1/page", `{"anonymousId":"anon-1","properties":{"url":"https://x.io/"},"timestamp":"2026-01-02T03:00:00Z"}`)
			send("/v1/identify", `{"anonymousId":"anon-1","userId":"u-1","traits":{"email":" Ann@X.io "},"timestamp":"2026-01-02T03:01:00Z"}`)
			send("/v1/track", `{"userId":"u-1","event":"Order Completed","properties":{"total":12.5},"timestamp":"2026-01-02T03:02:00Z"}`)
			send("/v1/page", `{"anonymousId":"anon-2","timestamp":"2026-01-02T03:03:00Z"}`)
			stitch()
			ann, attrs := person("user_id:u-1")
			want := map[string][]string{"anonymous_id": {"anon-1"}, "user_id": {"u-1"}, "email": {"ann@x.io"}}
			if !reflect.DeepEqual(ann.Identifiers, want) || ann.EventsCount != 3 {
				t.Fatalf("ann: %+v", ann)
			}
			if attrs["site_order_total"] != 12.5 {
				t.Errorf("site_order_total %v, want 12.5", attrs["site_order_total"])
			}
			if other, _ := person("anonymous_id:anon-2"); other.ID == ann.ID || other.EventsCount != 1 {
				t.Fatalf("anon-2 before alias: %+v", other)
			}
			// Another device of hers: alias links its anonymousId to her.
			send("/v1/alias", `{"previousId":"anon-2","userId":"u-1","timestamp":"2026-01-02T03:04:00Z"}`)
			stitch()
			ann, _ = person("anonymous_id:anon-2")
			if ann.EventsCount != 5 || !reflect.DeepEqual(ann.Identifiers["anonymous_id"], []string{"anon-1", "anon-2"}) {
				t.Errorf("after alias: %+v", ann)
			}
		})
	}
}

// TestTrackingConcurrentCalls: calls at the same time are appended
// together; each is answered with its own refusals, at its own indexes
// (here the strict catalog's, which the ingester makes), and every good
// message is stored once.
func TestTrackingConcurrentCalls(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			st := openStore(t, backend)
			s := newServerOn(t, st, api.Config{APIKeys: []string{"boot"}, Ingester: event.NewIngester(st, &event.IngesterOpts{StrictCatalog: true}),
				MaxConcurrentIngest: 16})
			key := s.newKey(t, "boot", `{"name":"site","scopes":["ingest"],"sources":["site"]}`).Secret
			if r := s.do(t, "POST", "/v1/event-types", withKey("boot"), []byte(`[{"source_id":"site","type":"Known","version":"1"}]`)); r.status != 200 {
				t.Fatalf("register: %d %s", r.status, r.body)
			}
			const callers, calls, size = 12, 4, 20
			var wg sync.WaitGroup
			for c := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := range calls {
						var msgs []string
						for i := range size {
							name := "Known"
							if (i+c+n)%7 == 0 {
								name = "Unknown"
							}
							msgs = append(msgs, fmt.Sprintf(`{"type":"track","messageId":"c%d-n%d-%d","userId":"u","event":%q}`, c, n, i, name))
						}
						r := s.do(t, "POST", "/v1/batch", basic(key), []byte(`{"batch":[`+strings.Join(msgs, ",")+`]}`))
						a := decode[trackingAnswer](t, r)
						var want []int
						for i := range size {
							if (i+c+n)%7 == 0 {
								want = append(want, i)
							}
						}
						var got []int
						for _, rej := range a.Rejected {
							got = append(got, rej.Index)
							if rej.Field != "type" || !strings.Contains(rej.Error, "Unknown") {
								t.Errorf("caller %d call %d: %+v", c, n, rej)
							}
						}
						if r.status != 400 || !reflect.DeepEqual(got, want) || a.Stored != size-len(want) {
							t.Errorf("caller %d call %d: %d %s, want refusals at %v", c, n, r.status, r.body, want)
						}
					}
				}()
			}
			wg.Wait()
			want := 0
			for c := range callers {
				for n := range calls {
					for i := range size {
						if (i+c+n)%7 != 0 {
							want++
						}
					}
				}
			}
			if got := len(s.sourceEvents(t, "site")); got != want {
				t.Errorf("%d events stored, want %d", got, want)
			}
		})
	}
}
