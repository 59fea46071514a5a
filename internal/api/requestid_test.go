package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/pipeline"
)

// syncBuffer is a log sink the handler's goroutines write to while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A server fault answers the generic body; the detail (SQL text, file
// paths) is only in the log, under the id the client got.
func TestInternalErrorHidesDetail(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			st := openStore(t, backend)
			logs := &syncBuffer{}
			logger := slog.New(slog.NewJSONHandler(logs, nil))
			p, err := pipeline.New(context.Background(), st, pipeline.Options{StitchInterval: -1, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			srv := newServerOn(t, st, api.Config{Pipeline: p, Logger: logger})
			if err := st.Close(); err != nil { // every query now fails
				t.Fatal(err)
			}
			for _, path := range []string{"/v1/stats", "/v1/events", "/v1/entities"} {
				res := srv.do(t, "GET", path, nil, nil)
				if res.status != http.StatusInternalServerError {
					t.Fatalf("%s: status %d, want 500: %s", path, res.status, res.body)
				}
				var body errorAnswer
				if err := json.Unmarshal(res.body, &body); err != nil {
					t.Fatalf("%s: %v: %s", path, err, res.body)
				}
				id := res.header.Get(api.RequestIDHeader)
				if body.Error.Code != "internal" || body.Error.Message != "internal error" || id == "" || body.Error.RequestID != id {
					t.Fatalf("%s: body %s, header id %q", path, res.body, id)
				}
				if want := `{"error":{"code":"internal","message":"internal error","request_id":"` + id + `"}}` + "\n"; string(res.body) != want {
					t.Errorf("%s: the body says more than the generic message: %s", path, res.body)
				}
				line := logLine(t, logs.String(), id)
				if line["level"] != "ERROR" || line["error"] == "" || line["error"] == "internal error" {
					t.Errorf("%s: the log line does not hold the detail: %v", path, line)
				}
			}
		})
	}
}

// logLine is the JSON log line that names the request id.
func logLine(t *testing.T, logs, id string) map[string]any {
	t.Helper()
	for l := range strings.Lines(logs) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["request_id"] == id {
			return m
		}
	}
	t.Fatalf("no log line with request_id %q in:\n%s", id, logs)
	return nil
}

// Every answer carries a request id: the client's when it is sane, a new
// one otherwise; error bodies repeat it.
func TestRequestID(t *testing.T) {
	srv := newServer(t, "duckdb", api.Config{})
	long := strings.Repeat("a", 129)
	for _, tc := range []struct {
		sent string
		kept bool
	}{
		{"", false},
		{"abc-123_X.y", true},
		{strings.Repeat("b", 128), true},
		{long, false},
		{"a b", false},
		{"a\"}{", false},
		{"é", false},
	} {
		res := srv.do(t, "GET", "/v1/no-such-route", map[string]string{api.RequestIDHeader: tc.sent}, nil)
		id := res.header.Get(api.RequestIDHeader)
		if tc.kept && id != tc.sent || !tc.kept && (id == tc.sent || len(id) != 24) {
			t.Errorf("sent %q, answered id %q", tc.sent, id)
		}
		var body errorAnswer
		if err := json.Unmarshal(res.body, &body); err != nil || body.Error.RequestID != id || body.Error.Code != "not_found" {
			t.Errorf("sent %q: body %s (id %q)", tc.sent, res.body, id)
		}
		ok := srv.do(t, "GET", "/healthz", map[string]string{api.RequestIDHeader: tc.sent}, nil)
		if ok.status != http.StatusOK || ok.header.Get(api.RequestIDHeader) == "" {
			t.Errorf("healthz: status %d, id %q", ok.status, ok.header.Get(api.RequestIDHeader))
		}
	}
}
