package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/weftdata/weft/internal/roundtrip"
)

// syncBuffer is a log sink for a server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func get(t *testing.T, url, key string) (int, string) {
	t.Helper()
	a := roundtrip.Do(t, http.MethodGet, url, nil, "x-api-key", key)
	return a.Status, string(a.Body)
}

// TestMetricsAddr: with --metrics-addr the metrics are served there, with
// no key, and not on the API's address.
func TestMetricsAddr(t *testing.T) {
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", DataDir: t.TempDir(), APIKeys: []string{"k"},
		StitchInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if s.MetricsAddr() == "" || s.MetricsAddr() == s.Addr() {
		t.Fatalf("metrics address %q, API %q", s.MetricsAddr(), s.Addr())
	}
	get(t, s.URL()+"/v1/stats", "k")
	if status, body := get(t, "http://"+s.MetricsAddr()+"/metrics", ""); status != 200 || !strings.Contains(body, `route="GET /v1/stats"`) {
		t.Errorf("metrics listener: %d, want the API's requests:\n%.1000s", status, body)
	}
	if status, body := get(t, s.URL()+"/metrics", "k"); status != 404 {
		t.Errorf("API /metrics with --metrics-addr: %d %s, want 404", status, body)
	}
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.MetricsAddr() + "/metrics"); err == nil {
		t.Error("the metrics listener still answers after shutdown")
	}
}

func TestMetricsAddrValidate(t *testing.T) {
	err := Config{Addr: "127.0.0.1:7700", MetricsAddr: "127.0.0.1:7700"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Errorf("metrics on the API's address: %v", err)
	}
}

// TestStartSaysOpen: without any key the server says at start that the
// API is open; with one it does not.
func TestStartSaysOpen(t *testing.T) {
	for _, keys := range [][]string{nil, {"k"}} {
		var logs syncBuffer
		s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), APIKeys: keys, StitchInterval: -1,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		s.Shutdown()
		if open := strings.Contains(logs.String(), "no API key configured: every route is open"); open != (keys == nil) {
			t.Errorf("keys %v: open warning %v in\n%s", keys, open, logs.String())
		}
	}
}
