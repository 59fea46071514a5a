package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/console"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/store/dbtest"
)

func TestSignInAndOut(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, false)
			b := newBrowser(t, s.URL())
			status, loc, _ := b.get("/console/profiles?q=email:a")
			if status != http.StatusSeeOther || loc != "/console/login?next=%2Fconsole%2Fprofiles%3Fq%3Demail%3Aa" {
				t.Fatalf("no session: %d %q", status, loc)
			}
			token := b.signIn(adminKey)
			status, _, page := b.get("/console/")
			if status != http.StatusOK {
				t.Fatalf("overview: %d", status)
			}
			mustContain(t, page, "Overview", "Sign out")
			if strings.Contains(page, "No API key is configured") {
				t.Error("the open-console banner shows with keys configured")
			}
			// Sign out without the token is refused, with it ends the session.
			if status, _, _ := b.post("/console/logout", nil); status != http.StatusForbidden {
				t.Errorf("sign out without CSRF token: %d, want 403", status)
			}
			if status, loc, _ := b.post("/console/logout", url.Values{"csrf_token": {token}}); status != http.StatusSeeOther || loc != "/console/login" {
				t.Errorf("sign out: %d %q", status, loc)
			}
			if status, _, _ := b.get("/console/"); status != http.StatusSeeOther {
				t.Errorf("overview after sign out: %d, want a redirect to sign in", status)
			}
		})
	}
}

func TestSignInRefusals(t *testing.T) {
	s := startServer(t, "duckdb", false)
	_, ingest, err := s.Keys.Create(context.Background(), keys.CreateParams{Name: "shop", Scopes: []string{keys.ScopeIngest}})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.URL())
	_, _, page := b.get("/console/login")
	mustContain(t, page, `name="key"`, `name="csrf_token"`)
	cases := []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"no CSRF token", url.Values{"key": {adminKey}}, http.StatusForbidden, "CSRF token"},
		{"wrong CSRF token", url.Values{"key": {adminKey}, "csrf_token": {"x"}}, http.StatusForbidden, "CSRF token"},
		{"wrong key", url.Values{"key": {"weft_nope"}}, http.StatusUnauthorized, "not a valid key"},
		{"no read scope", url.Values{"key": {ingest}}, http.StatusForbidden, `lacks the scope &#34;read&#34;`},
	}
	token := csrf(t, page)
	for _, c := range cases {
		if c.form.Get("csrf_token") == "x" {
			c.form.Set("csrf_token", "x"+token)
		} else if c.name != "no CSRF token" {
			c.form.Set("csrf_token", token)
		}
		status, _, body := b.post("/console/login", c.form)
		if status != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d, want %d saying %q:\n%s", c.name, status, c.status, c.says, body)
		}
		_, _, page = b.get("/console/login")
		token = csrf(t, page)
	}
	// A next outside the console is not followed.
	status, loc, _ := b.post("/console/login", url.Values{"key": {adminKey}, "csrf_token": {token}, "next": {"//evil.example/"}})
	if status != http.StatusSeeOther || loc != "/console/" {
		t.Errorf("sign in with a foreign next: %d %q", status, loc)
	}
}

func TestOpenConsoleSaysSo(t *testing.T) {
	s := startServer(t, "duckdb", true)
	b := newBrowser(t, s.URL())
	status, _, page := b.get("/console/")
	if status != http.StatusOK {
		t.Fatalf("open overview: %d", status)
	}
	mustContain(t, page, "No API key is configured")
	resp, err := http.Get(s.URL() + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "weft_console" && (!c.HttpOnly || c.SameSite != http.SameSiteStrictMode) {
			t.Errorf("session cookie %+v is not HttpOnly and SameSite=Strict", c)
		}
	}
}

func TestRoutesHaveScopes(t *testing.T) {
	// Every route of the console's table names a scope, but the sign-in
	// page, the assets and the catch-all, which anyone may open.
	public := map[string]bool{"GET /console/assets/": true, "GET /console/login": true, "POST /console/login": true, "/console/": true}
	for _, rt := range console.New(console.Config{}).Routes() {
		if rt.Scope == "" && !public[strings.TrimSpace(rt.Method+" "+rt.Path)] && rt.Path != "/console/logout" {
			t.Errorf("console route %s %s has no scope", rt.Method, rt.Path)
		}
	}
}
