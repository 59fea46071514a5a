package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReadTimeouts: the header, body and idle timeouts of the
// configuration reach the HTTP server. A client that stalls in its
// headers, in its body or between requests is cut off after them, and
// ingestion goes on meanwhile.
func TestReadTimeouts(t *testing.T) {
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		ReadHeaderTimeout: 300 * time.Millisecond, BodyReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	dial := func(send string) (net.Conn, *bufio.Reader) {
		conn, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		io.WriteString(conn, send)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		return conn, bufio.NewReader(conn)
	}
	var stalled []*bufio.Reader
	for range 5 {
		_, r := dial("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n{")
		stalled = append(stalled, r)
	}
	_, inHeaders := dial("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Le")
	_, idleR := dial("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")

	start := time.Now()
	line := `{"source_id":"web","type":"page_view","version":"1-0-0","event_time":1767323045000,"payload":{}}`
	resp, err := http.Post(s.URL()+"/v1/events", "application/x-ndjson", strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || time.Since(start) > 5*time.Second {
		t.Errorf("ingest beside stalled clients: %d after %v", resp.StatusCode, time.Since(start))
	}
	for i, r := range stalled {
		if status, _ := r.ReadString('\n'); !strings.HasPrefix(status, "HTTP/1.1 408") {
			t.Errorf("stalled body %d: %q", i, status)
		}
	}
	// Stalled headers: the connection is closed (net/http may first
	// answer 408 itself).
	start = time.Now()
	if _, err := io.ReadAll(inHeaders); err != nil || time.Since(start) > 3*time.Second {
		t.Errorf("stalled headers: %v after %v", err, time.Since(start))
	}
	// Idle after an answer: closed after the idle timeout.
	resp, err = http.ReadResponse(idleR, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	start = time.Now()
	if _, err := idleR.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: %v, want closed", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("idle connection closed after %v", took)
	}
}
