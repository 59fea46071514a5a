package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"loopback v4", Config{Addr: "127.0.0.1:7700"}, ""},
		{"loopback v6", Config{Addr: "[::1]:7700"}, ""},
		{"localhost", Config{Addr: "localhost:0"}, ""},
		{"all interfaces without keys", Config{Addr: ":7700"}, "not a loopback address"},
		{"public address without keys", Config{Addr: "10.1.2.3:7700"}, "--api-key"},
		{"public address with keys", Config{Addr: "0.0.0.0:7700", APIKeys: []string{"k"}}, ""},
		{"empty key", Config{Addr: "0.0.0.0:7700", APIKeys: []string{""}}, "empty key"},
		{"bad addr", Config{Addr: "nonsense"}, "--addr"},
		{"mysql url", Config{Addr: "127.0.0.1:0", DB: "mysql://u:pw@h/db"}, "postgres://"},
		{"postgres url", Config{Addr: "127.0.0.1:0", DB: "postgresql://h/db"}, ""},
		{"two secret keys", Config{Addr: "127.0.0.1:0", SecretKeyFile: "k", SecretKey: "k"}, "keep one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if c.err == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("error %v, want one with %q", err, c.err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	if got := redact("postgres://weft:hunter2@db:5432/weft"); strings.Contains(got, "hunter2") {
		t.Errorf("password shown: %s", got)
	}
}

// TestShutdownFinishesInFlightRequests starts shutting down while a request
// is still sending its body: the request must complete and be stored.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	line := func(i int) string {
		return fmt.Sprintf(`{"id":"e%d","source_id":"web","type":"page_view","version":"1-0-0","event_time":%d,"payload":{}}`+"\n", i, 1767323045000+i)
	}
	pr, pw := io.Pipe()
	type answer struct {
		status int
		body   string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := http.Post(s.URL()+"/v1/events", "application/x-ndjson", pr)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- answer{status: resp.StatusCode, body: string(b)}
	}()
	for i := range 100 {
		io.WriteString(pw, line(i))
	}
	time.Sleep(200 * time.Millisecond) // the request is in its handler now
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown() }()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-shut:
		t.Fatalf("shutdown returned before the in-flight request finished: %v", err)
	default:
	}
	for i := 100; i < 200; i++ {
		io.WriteString(pw, line(i))
	}
	pw.Close()
	a := <-done
	if a.err != nil || a.status != 200 || !strings.Contains(a.body, `"accepted":200`) {
		t.Fatalf("in-flight request: %d %s %v", a.status, a.body, a.err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := http.Get(s.URL() + "/healthz"); err == nil {
		t.Error("the server still accepts requests after shutdown")
	}
	st, err := OpenStore(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stats, err := st.Stats(context.Background())
	if err != nil || stats.Events != 200 {
		t.Fatalf("after shutdown the store holds %+v, %v", stats, err)
	}
}

// TestSecretKey: a key file makes secrets writable through the API and
// readable by jobs; a bad key stops the start with the reason.
func TestSecretKey(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, SecretKey: "short", Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "WEFT_SECRET_KEY") {
		t.Fatalf("start with a bad key: %v", err)
	}
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, SecretKeyFile: keyFile, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	req, _ := http.NewRequest("PUT", s.URL()+"/v1/secrets/crm", strings.NewReader(`{"token":"t0k3n"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("put secret: %s", resp.Status)
	}
	got, err := s.Secrets.Get(context.Background(), "crm")
	if err != nil || got["token"] != "t0k3n" {
		t.Fatalf("secret read by a job: %v, %v", got, err)
	}
}

// TestStrictCatalogAcceptsDeliveryEvents: with --strict-catalog, the
// Metrics API's event types are registered at start, so /log works.
func TestStrictCatalogAcceptsDeliveryEvents(t *testing.T) {
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), StrictCatalog: true,
		StitchInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	body := `{"userInfo":{"anonUserId":"a1"},"impression":[{"impressionId":"i1","contentId":"c1"}],"action":[{"actionId":"x1","contentId":"c1","actionType":"NAVIGATE"}]}`
	resp, err := http.Post(s.URL()+"/log", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /log with a strict catalog: %d %s", resp.StatusCode, got)
	}
	st, err := s.Store.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 2 {
		t.Errorf("%d events after /log, want 2", st.Events)
	}
	// Other unregistered types are still refused.
	resp, err = http.Post(s.URL()+"/v1/events", "application/json", strings.NewReader(`[{"source_id":"web","type":"page_view","version":"1","payload":{}}]`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(got), `"rejected":[{`) {
		t.Errorf("an unregistered type was accepted: %s", got)
	}
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
