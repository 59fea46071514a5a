package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/roundtrip"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var backends = dbtest.Backends

func openStore(t testing.TB, backend string) *store.DB { return dbtest.Open(t, backend) }

type testServer struct {
	*httptest.Server
	store *store.DB
}

func newServer(t testing.TB, backend string, cfg api.Config) *testServer {
	t.Helper()
	return newServerOn(t, openStore(t, backend), cfg)
}

// newServerOn serves the API over a store the test opened.
func newServerOn(t testing.TB, st *store.DB, cfg api.Config) *testServer {
	t.Helper()
	if cfg.Store == nil { // a test may wrap st
		cfg.Store = st
	}
	if cfg.Ingester == nil {
		cfg.Ingester = event.NewIngester(st, nil)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Pipeline == nil {
		p, err := pipeline.New(context.Background(), st, pipeline.Options{StitchInterval: -1, Logger: cfg.Logger,
			Jobs: jobrunner.Options{Poll: 20 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Pipeline = p
		// The job runtime runs what the API triggers (stitching,
		// attributes and jobs).
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); p.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	srv := httptest.NewServer(api.NewHandler(cfg))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: st}
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (s *testServer) do(t testing.TB, method, path string, header map[string]string, body []byte) response {
	t.Helper()
	return send(t, method, s.URL+path, header, body)
}

// send sends a request to an absolute URL.
func send(t testing.TB, method, url string, header map[string]string, body []byte) response {
	t.Helper()
	var pairs []string
	for k, v := range header {
		pairs = append(pairs, k, v)
	}
	a := roundtrip.Do(t, method, url, body, pairs...)
	return response{status: a.Status, body: a.Body, header: a.Header}
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("answer %d %s: %v", r.status, r.body, err)
	}
	return v
}

type ingestResult struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   []struct {
		Index int    `json:"index"`
		Field string `json:"field"`
		Error string `json:"error"`
	} `json:"rejected"`
}

type errorAnswer struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

func expectError(t *testing.T, r response, status int, code, msgPart string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d (%s), want %d", r.status, r.body, status)
	}
	e := decode[errorAnswer](t, r)
	if e.Error.Code != code || !strings.Contains(e.Error.Message, msgPart) {
		t.Errorf("error %+v, want code %q and a message with %q", e.Error, code, msgPart)
	}
	if id := r.header.Get(api.RequestIDHeader); id == "" || e.Error.RequestID != id {
		t.Errorf("error body's request_id %q, header's %q", e.Error.RequestID, id)
	}
}

func rec(id, typ string, ms int, payload string) string {
	idPart := ""
	if id != "" {
		idPart = fmt.Sprintf(`"id":%q,`, id)
	}
	return fmt.Sprintf(`{%s"source_id":"web","type":%q,"version":"1-0-0","event_time":%d,"payload":%s}`, idPart, typ, 1767323045000+ms, payload)
}

func (s *testServer) stats(t *testing.T) store.Stats {
	t.Helper()
	st, err := s.store.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return *st
}

func TestIngestMixedGoodAndBad(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			body := "[" + strings.Join([]string{
				rec("a", "page_view", 0, `{"url":"/"}`),
				`{"source_id":"web","type":"page_view","version":"1-0-0","payload":{}}`,
				rec("", "page_view", 1, `{"url":"/x"}`),
				rec("a", "page_view", 0, `{"url":"/"}`),
				rec("b", "page_view", 2, `"text"`),
				rec("", "page_view", 1, `{"url":"/x"}`),
			}, ",") + "]"
			r := s.do(t, "POST", "/v1/events", map[string]string{"Content-Type": "application/json"}, []byte(body))
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			res := decode[ingestResult](t, r)
			if res.Accepted != 2 || res.Duplicates != 2 || len(res.Rejected) != 2 {
				t.Fatalf("result %+v, want 2 accepted, 2 duplicates, 2 rejected", res)
			}
			if res.Rejected[0].Index != 1 || res.Rejected[0].Field != "event_time" || res.Rejected[0].Error != "event_time: required" {
				t.Errorf("first rejection %+v", res.Rejected[0])
			}
			if res.Rejected[1].Index != 4 || res.Rejected[1].Field != "payload" {
				t.Errorf("second rejection %+v", res.Rejected[1])
			}
			// Sending the same body again stores nothing new.
			res = decode[ingestResult](t, s.do(t, "POST", "/v1/events", nil, []byte(body)))
			if res.Accepted != 0 || res.Duplicates != 4 || len(res.Rejected) != 2 {
				t.Errorf("resend: %+v", res)
			}
			if st := s.stats(t); st.Events != 2 || st.EventTypes != 1 || st.Sources != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func gzipped(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIngestGzipNDJSON(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			var lines []string
			for i := range 1000 {
				lines = append(lines, rec(fmt.Sprintf("e%d", i), "page_view", i, `{"i":1}`))
			}
			body := gzipped(t, []byte(strings.Join(lines, "\n")+"\n"))
			r := s.do(t, "POST", "/v1/events", map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}, body)
			res := decode[ingestResult](t, r)
			if r.status != 200 || res.Accepted != 1000 || len(res.Rejected) != 0 {
				t.Fatalf("%d %+v", r.status, res)
			}
			r = s.do(t, "POST", "/v1/events", map[string]string{"Content-Encoding": "gzip"}, []byte("not gzip"))
			expectError(t, r, 400, "bad_request", "not valid gzip")
			corrupt := bytes.Clone(body)
			for i := 20; i < len(corrupt)-10; i += 7 {
				corrupt[i] ^= 0x5a
			}
			r = s.do(t, "POST", "/v1/events", map[string]string{"Content-Encoding": "gzip"}, corrupt)
			expectError(t, r, 400, "bad_request", "not valid gzip")
			r = s.do(t, "POST", "/v1/events", map[string]string{"Content-Encoding": "br"}, []byte("x"))
			expectError(t, r, 415, "unsupported_encoding", "br")
		})
	}
}

func TestIngestTooLarge(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{MaxBodyBytes: 4096})
			var lines []string
			for i := range 100 {
				lines = append(lines, rec(fmt.Sprintf("e%d", i), "page_view", i, `{}`))
			}
			big := []byte(strings.Join(lines, "\n"))
			r := s.do(t, "POST", "/v1/events", map[string]string{"Content-Type": "application/x-ndjson"}, big)
			expectError(t, r, 413, "body_too_large", "4096")
			// Small when compressed, too large once decompressed.
			r = s.do(t, "POST", "/v1/events", map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}, gzipped(t, big))
			expectError(t, r, 413, "body_too_large", "4096")
			if st := s.stats(t); st.Events != 0 {
				t.Errorf("a refused body stored %d events", st.Events)
			}
			// Within the limit it works.
			r = s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(lines[:10], "\n")))
			if res := decode[ingestResult](t, r); res.Accepted != 10 {
				t.Errorf("%+v", res)
			}
		})
	}
}

func TestIngestNotJSON(t *testing.T) {
	s := newServer(t, "duckdb", api.Config{})
	for name, c := range map[string]struct{ ct, body string }{
		"text as ndjson":  {"application/x-ndjson", "hello\nworld"},
		"broken array":    {"application/json", `[{"source_id":`},
		"object as array": {"application/json", `{"source_id":"web"}`},
		"empty":           {"", ""},
	} {
		t.Run(name, func(t *testing.T) {
			expectError(t, s.do(t, "POST", "/v1/events", map[string]string{"Content-Type": c.ct}, []byte(c.body)), 400, "invalid_body", "")
		})
	}
	expectError(t, s.do(t, "POST", "/v1/events", map[string]string{"Content-Type": "text/csv"}, []byte("a,b")), 415, "unsupported_media_type", "text/csv")
	if st := s.stats(t); st.Events != 0 {
		t.Errorf("stored %d events", st.Events)
	}
}

func TestAPIKeys(t *testing.T) {
	s := newServer(t, "duckdb", api.Config{APIKeys: []string{"k1", "k2"}})
	expectError(t, s.do(t, "GET", "/v1/stats", nil, nil), 401, "unauthorized", "missing x-api-key")
	expectError(t, s.do(t, "GET", "/v1/stats", map[string]string{"x-api-key": "nope"}, nil), 401, "unauthorized", "invalid x-api-key")
	expectError(t, s.do(t, "POST", "/v1/events", nil, []byte(rec("a", "x", 0, "{}"))), 401, "unauthorized", "")
	if r := s.do(t, "GET", "/v1/stats", map[string]string{"x-api-key": "k2"}, nil); r.status != 200 {
		t.Errorf("with a good key: %d %s", r.status, r.body)
	}
	if r := s.do(t, "GET", "/healthz", nil, nil); r.status != 200 {
		t.Errorf("healthz needs no key, got %d", r.status)
	}
	if st := s.stats(t); st.Events != 0 {
		t.Errorf("an unauthorized ingest stored %d events", st.Events)
	}
}

func TestStrictCatalog(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			st := openStore(t, backend)
			srv := httptest.NewServer(api.NewHandler(api.Config{
				Store:    st,
				Ingester: event.NewIngester(st, &event.IngesterOpts{StrictCatalog: true}),
				Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			}))
			defer srv.Close()
			s := &testServer{Server: srv, store: st}
			body := []byte(rec("a", "page_view", 0, "{}") + "\n" + rec("b", "signup", 0, "{}"))
			r := s.do(t, "POST", "/v1/events", nil, body)
			res := decode[ingestResult](t, r)
			if res.Accepted != 0 || len(res.Rejected) != 2 || !strings.Contains(res.Rejected[0].Error, `unknown event type "web/page_view/1-0-0"`) {
				t.Fatalf("%+v", res)
			}
			r = s.do(t, "POST", "/v1/event-types", nil, []byte(`[{"source_id":"web","type":"page_view","version":"1-0-0"}]`))
			if r.status != 200 || !strings.Contains(string(r.body), `"registered":1`) {
				t.Fatalf("register: %d %s", r.status, r.body)
			}
			expectError(t, s.do(t, "POST", "/v1/event-types", nil, []byte(`[{"source_id":"web","type":"a/b","version":"1"}]`)), 400, "bad_request", "type")
			expectError(t, s.do(t, "POST", "/v1/event-types", nil, []byte(`[{"source":"web"}]`)), 400, "bad_request", "unknown field")
			res = decode[ingestResult](t, s.do(t, "POST", "/v1/events", nil, body))
			if res.Accepted != 1 || len(res.Rejected) != 1 || res.Rejected[0].Index != 1 || res.Rejected[0].Field != "type" {
				t.Fatalf("after registering: %+v", res)
			}
			types := decode[struct {
				EventTypes []store.EventType `json:"event_types"`
			}](t, s.do(t, "GET", "/v1/event-types", nil, nil))
			if len(types.EventTypes) != 1 || types.EventTypes[0].ID != "web/page_view/1-0-0" {
				t.Errorf("catalog %+v", types)
			}
		})
	}
}

func TestEventsList(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			var lines []string
			for i := range 25 {
				typ := "page_view"
				if i%5 == 0 {
					typ = "form_submit"
				}
				lines = append(lines, rec(fmt.Sprintf("e%02d", i), typ, i, fmt.Sprintf(`{"i":%d}`, i)))
			}
			s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(lines, "\n")))
			type page struct {
				Events []struct {
					Seq       int64           `json:"seq"`
					ID        string          `json:"id"`
					EventTime string          `json:"event_time"`
					Payload   json.RawMessage `json:"payload"`
				} `json:"events"`
				NextAfterSeq int64 `json:"next_after_seq"`
			}
			var ids []string
			after := int64(0)
			for {
				p := decode[page](t, s.do(t, "GET", fmt.Sprintf("/v1/events?limit=10&after_seq=%d", after), nil, nil))
				if len(p.Events) == 0 {
					break
				}
				for _, e := range p.Events {
					ids = append(ids, e.ID)
				}
				after = p.NextAfterSeq
			}
			if len(ids) != 25 || ids[0] != "e00" || ids[24] != "e24" {
				t.Errorf("paged ids %v", ids)
			}
			p := decode[page](t, s.do(t, "GET", "/v1/events?type=form_submit&order=desc&limit=2", nil, nil))
			if len(p.Events) != 2 || p.Events[0].ID != "e20" || p.Events[1].ID != "e15" {
				t.Errorf("newest form submits %+v", p.Events)
			}
			if p.Events[0].EventTime != "2026-01-02T03:04:05.02Z" {
				t.Errorf("event_time %q", p.Events[0].EventTime)
			}
			expectError(t, s.do(t, "GET", "/v1/events?limit=0", nil, nil), 400, "bad_request", "limit")
			expectError(t, s.do(t, "GET", "/v1/events?limit=100000", nil, nil), 400, "bad_request", "limit")
			expectError(t, s.do(t, "GET", "/v1/events?after_seq=x", nil, nil), 400, "bad_request", "after_seq")
			expectError(t, s.do(t, "GET", "/v1/events?order=up", nil, nil), 400, "bad_request", "order")
			expectError(t, s.do(t, "GET", "/v1/nothing", nil, nil), 404, "not_found", "/v1/nothing")
			st := decode[store.Stats](t, s.do(t, "GET", "/v1/stats", nil, nil))
			if st.Events != 25 || st.EventTypes != 2 || st.Sources != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	s := newServer(t, "duckdb", api.Config{})
	s.do(t, "POST", "/v1/events", nil, []byte(rec("a", "x", 0, "{}")+"\n"+rec("a", "x", 0, "{}")+"\n"+rec("b", "x", 0, "[]")))
	r := s.do(t, "GET", "/metrics", nil, nil)
	for _, want := range []string{
		"weft_events_ingested_total 1",
		"weft_events_duplicate_total 1",
		"weft_events_rejected_total 1",
		`weft_http_request_duration_seconds_count{code="200",method="POST",route="POST /v1/events"} 1`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
