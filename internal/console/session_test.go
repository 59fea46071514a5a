package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/console"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/server"
)

// clock is a time the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// consoleOn serves a console of the server's store and keys on its own
// test server (TLS when asked), its clock moved by the test, and returns
// a browser of it.
func consoleOn(t *testing.T, s *server.Server, tls bool) (*browser, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	c := console.New(console.Config{Store: s.Store, Pipeline: s.Pipeline, Keys: s.Keys, Now: clk.now})
	var ts *httptest.Server
	if tls {
		ts = httptest.NewTLSServer(c)
	} else {
		ts = httptest.NewServer(c)
	}
	t.Cleanup(ts.Close)
	b := newBrowser(t, ts.URL)
	b.c.Transport = ts.Client().Transport
	return b, clk
}

func TestSessionExpiresWhenIdle(t *testing.T) {
	s := startServer(t, "duckdb", false)
	b, clk := consoleOn(t, s, false)
	token := b.signIn(adminKey)
	clk.add(console.SessionIdleDefault - time.Minute)
	if status, _, _ := b.get("/console/"); status != http.StatusOK {
		t.Fatalf("a session used %v ago: %d", console.SessionIdleDefault-time.Minute, status)
	}
	clk.add(console.SessionIdleDefault + time.Second)
	status, loc, _ := b.get("/console/")
	if status != http.StatusSeeOther || loc != "/console/login?expired=1&next=%2Fconsole%2F" {
		t.Fatalf("an idle session: %d %q, want the sign-in page saying it expired", status, loc)
	}
	_, _, page := b.get(loc)
	mustContain(t, page, "Your session expired. Sign in again.", `name="next" value="/console/"`)
	// The session is gone: a form posted with its token gets 401.
	status, loc, page = b.post("/console/logout", url.Values{"csrf_token": {token}})
	if status != http.StatusUnauthorized || !strings.HasPrefix(loc, "/console/login") {
		t.Errorf("a form after expiry: %d %q, want 401:\n%s", status, loc, page)
	}
}

func TestSessionExpiresAfterMax(t *testing.T) {
	s := startServer(t, "duckdb", false)
	b, clk := consoleOn(t, s, false)
	token := b.signIn(adminKey)
	// Used every 29 minutes, the session lives 12 hours, not longer.
	var used time.Duration
	for used+29*time.Minute <= console.SessionMaxDefault {
		clk.add(29 * time.Minute)
		used += 29 * time.Minute
		if status, _, _ := b.get("/console/login"); status != http.StatusOK {
			t.Fatal(status)
		}
		if status, _, _ := b.get("/console/nothing-here"); status != http.StatusNotFound {
			t.Fatalf("a session used every 29 minutes, after %v: %d", used, status)
		}
	}
	clk.add(29 * time.Minute)
	// A form is refused with 401, and says where to sign in.
	status, loc, _ := b.post("/console/logout", url.Values{"csrf_token": {token}})
	if status != http.StatusUnauthorized || loc != "/console/login?expired=1" {
		t.Errorf("a form after 12 hours: %d %q, want 401", status, loc)
	}
	if status, loc, _ := b.get("/console/"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login") {
		t.Errorf("after 12 hours: %d %q", status, loc)
	}
}

func TestRevokedKeyEndsSession(t *testing.T) {
	s := startServer(t, "duckdb", false)
	ctx := context.Background()
	k, secret, err := s.Keys.Create(ctx, keys.CreateParams{Name: "analyst", Scopes: []string{keys.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := consoleOn(t, s, false)
	b.signIn(secret)
	if _, err := s.Keys.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	status, loc, _ := b.get("/console/")
	if status != http.StatusSeeOther || loc != "/console/login?next=%2Fconsole%2F" {
		t.Fatalf("after the key was revoked: %d %q", status, loc)
	}
	// Signing in with it again is refused.
	_, _, page := b.get("/console/login")
	if status, _, _ := b.post("/console/login", url.Values{"key": {secret}, "csrf_token": {csrf(t, page)}}); status != http.StatusUnauthorized {
		t.Errorf("sign in with a revoked key: %d", status)
	}
}

func TestSessionCookieSecureOverTLS(t *testing.T) {
	s := startServer(t, "duckdb", false)
	for _, tls := range []bool{false, true} {
		b, _ := consoleOn(t, s, tls)
		var found bool
		_, _, page := b.get("/console/login")
		resp, err := b.c.PostForm(b.base+"/console/login", url.Values{"key": {adminKey}, "csrf_token": {csrf(t, page)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name != "weft_console" {
				continue
			}
			found = true
			if c.Secure != tls || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console/" {
				t.Errorf("TLS %v: session cookie %+v", tls, c)
			}
		}
		if !found {
			t.Errorf("TLS %v: no session cookie set", tls)
		}
	}
}
