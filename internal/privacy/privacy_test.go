package privacy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/privacy"
	"github.com/weftdata/weft/internal/roundtrip"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

const stitchYAML = `stitching:
  rules:
    - {identifier: email, event: shop/order, value_expression: "lower(payload->>'email')"}
    - {identifier: cookie, event: shop/order, value_expression: "payload->>'cookie'"}
`

// testServer is a weft server of a backend, with people in it: ann (two
// cookies merged through her email) and bob.
type testServer struct {
	*server.Server
	base string
}

// annEvents and bobEvents are how many events each person has.
const annEvents, bobEvents = 7, 5

func startServer(t *testing.T, backend string, cfg server.Config) *testServer {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.StitchInterval = -1
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if backend == "postgres" {
		cfg.DB = pgtest.URL(t)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	ts := &testServer{Server: s, base: s.URL()}
	if st, _, body := ts.do(t, "PUT", "/v1/config", []byte(stitchYAML)); st != 200 {
		t.Fatalf("apply: %d %s", st, body)
	}
	var lines []string
	for i := range annEvents {
		// Ann's first events carry only a cookie each; her email joins them.
		cookie := fmt.Sprintf("ann-cookie-%d", i%2)
		email := ""
		if i >= 2 {
			email = `,"email":"Ann@Example.org"`
		}
		lines = append(lines, fmt.Sprintf(`{"id":"ann-%d","source_id":"shop","type":"order","version":"1-0-0","event_time":%d,"payload":{"cookie":%q,"marker":"ann-marker-%d"%s}}`,
			i, 1767323045000+i, cookie, i, email))
	}
	for i := range bobEvents {
		lines = append(lines, fmt.Sprintf(`{"id":"bob-%d","source_id":"shop","type":"order","version":"1-0-0","event_time":%d,"payload":{"cookie":"bob-cookie","email":"bob@example.org","marker":"bob-marker-%d"}}`,
			i, 1767323046000+i, i))
	}
	// Ann's cookie-only events are stitched first, into two entities, which
	// her email then merges.
	for _, part := range [][]string{lines[:2], lines[2:]} {
		if st, _, body := ts.do(t, "POST", "/v1/events", []byte(strings.Join(part, "\n"))); st != 200 {
			t.Fatalf("ingest: %d %s", st, body)
		}
		if st, _, body := ts.do(t, "POST", "/v1/stitching/run", nil); st != 200 {
			t.Fatalf("stitch: %d %s", st, body)
		}
	}
	return ts
}

func (s *testServer) do(t *testing.T, method, path string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = s.base + path
	}
	a := roundtrip.Do(t, method, u, body)
	return a.Status, a.Header, a.Body
}

// certificate fetches the processor certificate the way a controller does:
// from the URL discovery names.
func (s *testServer) certificate(t *testing.T) *x509.Certificate {
	t.Helper()
	st, h, body := s.do(t, "GET", "/v1/privacy/discovery", nil)
	if st != 200 {
		t.Fatalf("discovery: %d %s", st, body)
	}
	var d privacy.Discovery
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	st, _, pemBytes := s.do(t, "GET", d.ProcessorCertificate, nil)
	if st != 200 {
		t.Fatalf("certificate: %d %s", st, pemBytes)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("certificate is not PEM: %s", pemBytes)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(cert, h, body); err != nil {
		t.Fatalf("discovery answer: %v", err)
	}
	if err := cert.VerifyHostname(h.Get(privacy.HeaderDomain)); err != nil {
		t.Fatalf("the certificate is not for the processor domain: %v", err)
	}
	return cert
}

// verify checks a body's signature as the spec's guidelines do: the
// base64-decoded X-OpenDSR-Signature against the raw body's SHA-256.
func verify(cert *x509.Certificate, h http.Header, body []byte) error {
	for _, name := range []string{privacy.HeaderSignature, "X-OpenGDPR-Signature"} {
		sig, err := base64.StdEncoding.DecodeString(h.Get(name))
		if err != nil || len(sig) == 0 {
			return fmt.Errorf("%s: missing or not base64: %q", name, h.Get(name))
		}
		sum := sha256.Sum256(body)
		if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
			return fmt.Errorf("%s does not verify: %w", name, err)
		}
	}
	return nil
}

// receiver is a controller's callback endpoint: it verifies every
// callback's signature and keeps the good ones. hold, when set, makes the
// callbacks of that status wait until release is closed.
type receiver struct {
	*httptest.Server
	t    *testing.T
	cert func() *x509.Certificate

	mu        sync.Mutex
	callbacks []privacy.Callback
	bad       []string
	hold      string
	release   chan struct{}
	// failFirst makes the first callback of that status answer 503.
	failFirst string
	refused   int
}

func newReceiver(t *testing.T, cert func() *x509.Certificate) *receiver {
	r := &receiver{t: t, cert: cert, release: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.mu.Lock()
		select {
		case <-r.release:
		default:
			close(r.release)
		}
		r.mu.Unlock()
		r.Close()
	})
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	// The signature is checked before the body is parsed (§8.8).
	if err := verify(r.cert(), req.Header, body); err != nil {
		r.mu.Lock()
		r.bad = append(r.bad, err.Error())
		r.mu.Unlock()
		w.WriteHeader(http.StatusForbidden)
		return
	}
	var cb privacy.Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	hold, release := r.hold, r.release
	if r.failFirst != "" && cb.RequestStatus == r.failFirst {
		r.failFirst = ""
		r.refused++
		r.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.mu.Unlock()
	if hold != "" && cb.RequestStatus == hold {
		<-release
	}
	r.mu.Lock()
	r.callbacks = append(r.callbacks, cb)
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// statuses lists the statuses called back for a request, in order.
func (r *receiver) statuses(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, cb := range r.callbacks {
		if cb.SubjectRequestID == id {
			out = append(out, cb.RequestStatus)
		}
	}
	return out
}

func newID(n int) string { return fmt.Sprintf("a7551968-d5d6-44b2-9831-%012x", n) }

func requestBody(id, typ string, ids []privacy.Identity, callbacks ...string) []byte {
	b, _ := json.Marshal(privacy.Request{SubjectRequestID: id, SubjectRequestType: typ, SubjectIdentities: ids,
		SubmittedTime: "2026-12-01T10:00:00Z", APIVersion: "1.0", StatusCallbackURLs: callbacks})
	return b
}

func email(v string) []privacy.Identity {
	return []privacy.Identity{{Type: "email", Value: v, Format: privacy.FormatRaw}}
}

// waitStatus polls a request until it reaches status.
func (s *testServer) waitStatus(t *testing.T, id, status string) privacy.Status {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _, body := s.do(t, "GET", "/v1/privacy/requests/"+id, nil)
		var st privacy.Status
		if code != 200 || json.Unmarshal(body, &st) != nil {
			t.Fatalf("status of %s: %d %s", id, code, body)
		}
		if st.RequestStatus == status {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s is %s, not %s, after 60s: %s", id, st.RequestStatus, status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCallbacks waits until a request's callbacks are want.
func (r *receiver) waitCallbacks(t *testing.T, id string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Join(r.statuses(id), ",") != strings.Join(want, ",") {
		if time.Now().After(deadline) {
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("callbacks of %s: %v, want %v (refused: %v)", id, r.statuses(id), want, r.bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serverConfig is the configuration of a backend's test server: PostgreSQL
// keeps the key sealed under a secret key, DuckDB in a file of the data
// directory (the quickstart case), so both ways are exercised.
func serverConfig(backend string) server.Config {
	cfg := server.Config{PrivacyURLTTL: 3 * time.Second}
	if backend == "postgres" {
		cfg.SecretKey = kv.GenerateSecretKey()
	}
	return cfg
}

// setup starts a server of the backend with its controller's callback
// receiver, which verifies callbacks with the certificate discovery names.
func setup(t *testing.T, backend string) (*testServer, *x509.Certificate, *receiver) {
	s := startServer(t, backend, serverConfig(backend))
	cert := s.certificate(t)
	return s, cert, newReceiver(t, func() *x509.Certificate { return cert })
}

// create submits a request and fails the test unless it is created.
func (s *testServer) create(t *testing.T, body []byte) {
	t.Helper()
	if code, _, answer := s.do(t, "POST", "/v1/privacy/requests", body); code != 201 {
		t.Fatalf("create: %d %s", code, answer)
	}
}

// TestOpenDSRRoundTrip submits access and portability requests through
// real HTTP, verifies every answer and callback against the certificate
// discovery names, and reads the exports: the person's data and nothing
// of another person's.
func TestOpenDSRRoundTrip(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, cert, rcv := setup(t, backend)

			// Discovery: the categories in force, raw and sha256.
			_, _, body := s.do(t, "GET", "/v1/privacy/discovery", nil)
			for _, want := range []string{`"api_version":"1.0"`, `{"identity_type":"cookie","identity_format":"raw"}`,
				`{"identity_type":"email","identity_format":"sha256"}`, `"supported_subject_request_types":["erasure","access","portability"]`} {
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("discovery lacks %s: %s", want, body)
				}
			}

			id := newID(1)
			reqBody := requestBody(id, privacy.TypeAccess, email("ann@example.org"), rcv.URL+"/opendsr/callbacks")
			code, h, body := s.do(t, "POST", "/v1/privacy/requests", reqBody)
			if code != 201 {
				t.Fatalf("create: %d %s", code, body)
			}
			if err := verify(cert, h, body); err != nil {
				t.Fatalf("create answer: %v", err)
			}
			var created privacy.Created
			if err := json.Unmarshal(body, &created); err != nil {
				t.Fatal(err)
			}
			if created.SubjectRequestID != id || created.ControllerID == "" || created.EncodedRequest != base64.StdEncoding.EncodeToString(reqBody) {
				t.Errorf("create answer: %s", body)
			}
			received, err1 := time.Parse(time.RFC3339, created.ReceivedTime)
			expected, err2 := time.Parse(time.RFC3339, created.ExpectedCompletionTime)
			if err1 != nil || err2 != nil || !expected.After(received) {
				t.Errorf("times: %s", body)
			}

			st := s.waitStatus(t, id, privacy.StatusCompleted)
			rcv.waitCallbacks(t, id, privacy.StatusInProgress, privacy.StatusCompleted)
			code, h, body = s.do(t, "GET", "/v1/privacy/requests/"+id, nil)
			if err := verify(cert, h, body); code != 200 || err != nil {
				t.Fatalf("status answer: %d %v", code, err)
			}
			if st.ResultsCount == nil || *st.ResultsCount != 1 || st.Result == nil || st.Result.Entities != 2 || st.Result.Events == nil || *st.Result.Events != annEvents {
				t.Fatalf("status: %+v", st)
			}
			rcv.mu.Lock()
			last := rcv.callbacks[len(rcv.callbacks)-1]
			rcv.mu.Unlock()
			if last.StatusCallbackURL != rcv.URL+"/opendsr/callbacks" || last.ResultsURL == "" || last.ControllerID != created.ControllerID ||
				last.ExpectedCompletionTime != created.ExpectedCompletionTime {
				t.Errorf("completed callback: %+v", last)
			}

			doc := s.checkExport(t, st, "ann")
			if len(doc.Profiles) != 1 || len(doc.Profiles[0].MergedEntities) != 1 || len(doc.Profiles[0].Identifiers["cookie"]) != 2 {
				t.Errorf("ann's profile, built of two entities through her email: %+v", doc.Profiles)
			}
			if len(doc.Profiles) == 1 && doc.Profiles[0].Segments == nil {
				t.Error("ann's profile has no segments list (want [] when she is a member of none)")
			}

			// Portability by the SHA-256 of the email finds the same person.
			sum := sha256.Sum256([]byte("bob@example.org"))
			id2 := newID(2)
			ids := []privacy.Identity{{Type: "email", Value: strings.ToUpper(hex.EncodeToString(sum[:])), Format: privacy.FormatSHA256}}
			s.create(t, requestBody(id2, privacy.TypePortability, ids))
			st2 := s.waitStatus(t, id2, privacy.StatusCompleted)
			s.checkExport(t, st2, "bob")

			// Nobody holds the identity: completed, nothing found.
			id3 := newID(3)
			s.create(t, requestBody(id3, privacy.TypeAccess, email("nobody@example.org")))
			if st3 := s.waitStatus(t, id3, privacy.StatusCompleted); *st3.ResultsCount != 0 || *st3.Result.Events != 0 {
				t.Errorf("nobody's export: %+v", st3)
			}

			// Forged URLs are refused, the expired one with 410.
			forged := []struct{ url, code string }{
				{strings.Replace(st.ResultsURL, id, id2, 1), "invalid_signature"},
				{st.ResultsURL[:len(st.ResultsURL)-3] + "AAA", "invalid_signature"},
				{strings.Replace(st.ResultsURL, "/profile.json/", "/events.ndjson/", 1), "invalid_signature"},
			}
			exp := st.URLsExpire
			forged = append(forged, struct{ url, code string }{bumpExpiry(t, st.ResultsURL), "invalid_signature"})
			for _, f := range forged {
				code, _, body := s.do(t, "GET", f.url, nil)
				if code != 403 || !strings.Contains(string(body), f.code) {
					t.Errorf("forged %s: %d %s", f.url, code, body)
				}
			}
			at, _ := time.Parse(time.RFC3339, exp)
			time.Sleep(time.Until(at) + 100*time.Millisecond)
			code, _, body = s.do(t, "GET", st.ResultsURL, nil)
			if code != 410 || !strings.Contains(string(body), "url_expired") || !strings.Contains(string(body), "expired at "+exp) {
				t.Errorf("expired URL: %d %s", code, body)
			}
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			if len(rcv.bad) > 0 {
				t.Errorf("callbacks with bad signatures: %v", rcv.bad)
			}
		})
	}
}

// bumpExpiry moves a URL's expiry a day on, keeping its signature.
func bumpExpiry(t *testing.T, u string) string {
	parts := strings.Split(u, "/")
	exp := parts[len(parts)-2]
	var n int64
	if _, err := fmt.Sscan(exp, &n); err != nil {
		t.Fatalf("no expiry in %s", u)
	}
	parts[len(parts)-2] = fmt.Sprint(n + 86400)
	return strings.Join(parts, "/")
}

// checkExport downloads an export and checks that it holds who's events
// and identifiers and nothing of the other person.
func (s *testServer) checkExport(t *testing.T, st privacy.Status, who string) privacy.Document {
	t.Helper()
	other := map[string]string{"ann": "bob", "bob": "ann"}[who]
	want := map[string]int{"ann": annEvents, "bob": bobEvents}[who]
	code, h, body := s.do(t, "GET", st.ResultsURL, nil)
	if code != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("document: %d %s", code, body)
	}
	if bytes.Contains(body, []byte(other)) {
		t.Errorf("%s's document holds %s's data: %s", who, other, body)
	}
	var doc privacy.Document
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SubjectRequestID != st.SubjectRequestID || doc.EventsCount != int64(want) || len(doc.Profiles) != 1 ||
		!strings.Contains(strings.Join(doc.Profiles[0].Identifiers["email"], ","), who+"@example.org") {
		t.Errorf("%s's document: %s", who, body)
	}
	code, h, events := s.do(t, "GET", st.EventsURL, nil)
	if code != 200 || h.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("events: %d %s", code, events)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(events))
	for sc.Scan() {
		var ev struct {
			ID      string `json:"id"`
			Payload struct {
				Marker string `json:"marker"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("events line %d: %v: %s", n+1, err, sc.Bytes())
		}
		if !strings.HasPrefix(ev.ID, who+"-") || !strings.HasPrefix(ev.Payload.Marker, who+"-marker-") {
			t.Errorf("%s's events hold %s", who, sc.Bytes())
		}
		n++
	}
	if n != want {
		t.Errorf("%s's events: %d lines, want %d", who, n, want)
	}
	return doc
}

// TestCancel cancels a request while it waits behind another, whose
// in_progress callback the controller holds: the pending one is cancelled
// (and called back so, after a first attempt the controller refuses), the
// running one cannot be.
func TestCancel(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, cert, rcv := setup(t, backend)
			rcv.hold = privacy.StatusInProgress
			rcv.failFirst = privacy.StatusCancelled

			first, second := newID(10), newID(11)
			for _, id := range []string{first, second} {
				s.create(t, requestBody(id, privacy.TypeAccess, email("ann@example.org"), rcv.URL))
			}
			s.waitStatus(t, first, privacy.StatusInProgress)
			code, h, body := s.do(t, "DELETE", "/v1/privacy/requests/"+second, nil)
			if code != 202 || verify(cert, h, body) != nil || !strings.Contains(string(body), `"subject_request_id":"`+second+`"`) {
				t.Fatalf("cancel pending: %d %s", code, body)
			}
			for _, c := range []struct{ id, status string }{{second, "cancelled"}, {first, "in_progress"}} {
				code, _, body := s.do(t, "DELETE", "/v1/privacy/requests/"+c.id, nil)
				if code != 409 || !strings.Contains(string(body), "the request is "+c.status+": only a pending request can be cancelled") {
					t.Errorf("cancel %s: %d %s", c.status, code, body)
				}
			}
			code, _, body = s.do(t, "DELETE", "/v1/privacy/requests/"+newID(99), nil)
			if code != 404 || !strings.Contains(string(body), "no privacy request "+newID(99)) {
				t.Errorf("cancel unknown: %d %s", code, body)
			}
			rcv.mu.Lock()
			rcv.hold = ""
			close(rcv.release)
			rcv.mu.Unlock()
			s.waitStatus(t, first, privacy.StatusCompleted)
			rcv.waitCallbacks(t, first, privacy.StatusInProgress, privacy.StatusCompleted)
			rcv.waitCallbacks(t, second, privacy.StatusCancelled)
			rcv.mu.Lock()
			if rcv.refused != 1 {
				t.Errorf("the refused callback was refused %d times, want once, then retried", rcv.refused)
			}
			rcv.mu.Unlock()
			if st := s.waitStatus(t, second, privacy.StatusCancelled); st.Result != nil || st.ResultsURL != "" || st.CompletedTime == "" {
				t.Errorf("cancelled request: %+v", st)
			}
		})
	}
}

// TestBadRequests: each malformed request is a 400 naming what is wrong,
// and stores nothing.
func TestBadRequests(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, backend, serverConfig(backend))
			good := func(mod func(m map[string]any)) []byte {
				var m map[string]any
				json.Unmarshal(requestBody(newID(50), privacy.TypeAccess, email("ann@example.org"), "https://controller.example/cb"), &m)
				mod(m)
				b, _ := json.Marshal(m)
				return b
			}
			ident := func(typ, val, format string) func(m map[string]any) {
				return func(m map[string]any) {
					m["subject_identities"] = []map[string]string{{"identity_type": typ, "identity_value": val, "identity_format": format}}
				}
			}
			set := func(k string, v any) func(m map[string]any) { return func(m map[string]any) { m[k] = v } }
			del := func(k string) func(m map[string]any) { return func(m map[string]any) { delete(m, k) } }
			cases := []struct {
				name string
				body []byte
				code string
				msg  string
			}{
				{"not json", []byte("{"), "bad_request", "not a JSON OpenDSR request"},
				{"no id", good(del("subject_request_id")), "bad_request", "subject_request_id: is required"},
				{"id not uuid", good(set("subject_request_id", "req-1")), "bad_request", `subject_request_id: "req-1" is not a lowercase UUID v4`},
				{"id uppercase", good(set("subject_request_id", strings.ToUpper(newID(50)))), "bad_request", "is not a lowercase UUID v4"},
				{"no type", good(del("subject_request_type")), "bad_request", "subject_request_type: is required"},
				{"unknown type", good(set("subject_request_type", "rectification")), "bad_request", `subject_request_type: "rectification" is not supported (supported: erasure, access, portability)`},
				{"no time", good(del("submitted_time")), "bad_request", "submitted_time: is required"},
				{"bad time", good(set("submitted_time", "yesterday")), "bad_request", `submitted_time: "yesterday" is not an RFC 3339 time`},
				{"api version", good(set("api_version", "3.0")), "bad_request", `api_version: "3.0" is not supported`},
				{"no identities", good(del("subject_identities")), "bad_request", "subject_identities: is required"},
				{"unknown identity type", good(ident("android_id", "x", "raw")), "bad_request", `subject_identities[0].identity_type: "android_id" is not supported: the identity types are the identifier categories of the configuration in force (anon_user_id, cookie, email, user_id)`},
				{"unsupported format", good(ident("email", "x", "md5")), "bad_request", `subject_identities[0].identity_format: "md5" is not supported (supported: raw, sha256)`},
				{"no value", good(ident("email", "", "raw")), "bad_request", "subject_identities[0].identity_value: is required"},
				{"bad sha256", good(ident("email", "ann@example.org", "sha256")), "bad_request", "subject_identities[0].identity_value: is not a SHA-256 in hex"},
				{"callback scheme", good(set("status_callback_urls", []string{"ftp://controller.example/cb"})), "bad_request", `status_callback_urls[0]: "ftp://controller.example/cb" is not an absolute http(s) URL`},
				{"callback relative", good(set("status_callback_urls", []string{"/cb"})), "bad_request", "status_callback_urls[0]"},
				{"callback credentials", good(set("status_callback_urls", []string{"https://u:p@controller.example/cb"})), "bad_request", "status_callback_urls[0]: a callback URL may not carry credentials"},
				{"callback not a list", good(set("status_callback_urls", "https://controller.example/cb")), "bad_request", "status_callback_urls: must be a JSON array"},
				{"unknown field", good(set("subject_identites", []string{})), "bad_request", "subject_identites: unknown field"},
			}
			for _, c := range cases {
				code, _, body := s.do(t, "POST", "/v1/privacy/requests", c.body)
				var e struct {
					Error struct{ Code, Message string }
				}
				json.Unmarshal(body, &e)
				if code != 400 || e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.msg) {
					t.Errorf("%s: %d %s, want 400 %s with %q", c.name, code, body, c.code, c.msg)
				}
				if code, _, _ := s.do(t, "GET", "/v1/privacy/requests/"+newID(50), nil); code != 404 {
					t.Fatalf("%s: a refused request was stored", c.name)
				}
			}
			// Extensions and the other versions' fields are accepted.
			ok := good(func(m map[string]any) {
				m["extensions"] = map[string]any{"example-processor.com": map[string]any{"custom": 1}}
				m["regulation"], m["property_id"] = "gdpr", "123456"
			})
			if code, _, body := s.do(t, "POST", "/v1/privacy/requests", ok); code != 201 {
				t.Fatalf("with extensions: %d %s", code, body)
			}
			code, _, body := s.do(t, "POST", "/v1/privacy/requests", ok)
			if code != 400 || !strings.Contains(string(body), `"code":"duplicate_request"`) || !strings.Contains(string(body), "subject_request_id was already received") {
				t.Errorf("duplicate: %d %s", code, body)
			}
			code, _, body = s.do(t, "GET", "/v1/privacy/requests/"+newID(98), nil)
			if code != 404 || !strings.Contains(string(body), "no privacy request") {
				t.Errorf("unknown: %d %s", code, body)
			}
		})
	}
}

// TestErasure erases a person through an OpenDSR request: afterwards no
// API returns her events, identifiers or profile, and the other person is
// untouched. It runs once the erasure is implemented.
func TestErasure(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, _, rcv := setup(t, backend)
			// An export made before the erasure goes with it.
			before := newID(21)
			s.create(t, requestBody(before, privacy.TypeAccess, email("ann@example.org")))
			s.waitStatus(t, before, privacy.StatusCompleted)
			id := newID(20)
			s.create(t, requestBody(id, privacy.TypeErasure, email("ann@example.org"), rcv.URL))
			st := s.waitStatus(t, id, privacy.StatusCompleted)
			rcv.waitCallbacks(t, id, privacy.StatusInProgress, privacy.StatusCompleted)
			if st.Result == nil || st.Result.Erased == nil || st.Result.Erased.Events != annEvents || st.Result.Entities != 2 || st.ResultsURL != "" {
				t.Errorf("erasure status: %+v", st)
			}
			s.checkErased(t)
			exported := s.waitStatus(t, before, privacy.StatusCompleted) // fresh URLs
			for _, u := range []string{exported.ResultsURL, exported.EventsURL} {
				if code, _, body := s.do(t, "GET", u, nil); code != 404 || !strings.Contains(string(body), "this export no longer exists") {
					t.Errorf("an export of the erased person: %d %s", code, body)
				}
			}
		})
	}
}

// checkErased checks that no API returns ann, and bob is all there.
func (s *testServer) checkErased(t *testing.T) {
	t.Helper()
	for _, ident := range []string{"email:ann@example.org", "cookie:ann-cookie-0", "cookie:ann-cookie-1"} {
		if code, _, body := s.do(t, "GET", "/v1/entities?identifier="+ident, nil); code != 404 {
			t.Errorf("%s after erasure: %d %s", ident, code, body)
		}
	}
	_, _, body := s.do(t, "GET", "/v1/events?limit=1000", nil)
	if bytes.Contains(body, []byte("ann")) {
		t.Errorf("events after erasure hold ann: %s", body)
	}
	if n := bytes.Count(body, []byte("bob-marker-")); n != bobEvents {
		t.Errorf("bob's events after ann's erasure: %d, want %d", n, bobEvents)
	}
	_, _, body = s.do(t, "GET", "/v1/entities?limit=1000", nil)
	if bytes.Contains(body, []byte("ann")) || !bytes.Contains(body, []byte("bob@example.org")) {
		t.Errorf("entities after erasure: %s", body)
	}
}
