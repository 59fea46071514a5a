package server

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/store/pgtest"
)

// A connection refused for a real cause (a missing role) says that cause
// first, without the TLS attempt that sslmode=prefer made before it.
func TestPostgresErrorWithoutTLSLine(t *testing.T) {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("nosuchrole", "pw")
	u.RawQuery = "" // sslmode=prefer: TLS first, then plain
	_, err = OpenStore(context.Background(), Config{DB: u.String()})
	if err == nil {
		t.Fatal("connected as a role that does not exist")
	}
	msg := err.Error()
	if strings.Contains(msg, "tls") || !strings.Contains(msg, "failed to connect to `user=nosuchrole") ||
		!strings.Contains(msg, `: server error: FATAL: role "nosuchrole" does not exist`) || strings.Contains(msg, "\n") {
		t.Errorf("message %q", msg)
	}
	u.RawQuery = "sslmode=require" // only TLS was tried: its failure is the cause
	if _, err := OpenStore(context.Background(), Config{DB: u.String()}); err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("sslmode=require: %v", err)
	}
}
