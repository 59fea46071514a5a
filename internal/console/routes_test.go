package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/console"
)

// wildcard matches a path wildcard of a route: {id}, {path...}, {$}.
var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// routePath fills a route's wildcards with "x" ({$} with nothing), so that
// every route can be called without data of its own.
func routePath(p string) string {
	return wildcard.ReplaceAllStringFunc(p, func(w string) string {
		if w == "{$}" {
			return ""
		}
		return "x"
	})
}

// TestRoutesNeedSessionAndToken walks the route table: every page without
// a session redirects to sign-in, every action without a session gets
// 401, and every action of a signed-in admin without the CSRF token is
// refused with 403.
func TestRoutesNeedSessionAndToken(t *testing.T) {
	s := startServer(t, "duckdb", false)
	anon := newBrowser(t, s.URL())
	admin := newBrowser(t, s.URL())
	admin.signIn(adminKey)
	for _, rt := range console.New(console.Config{}).Routes() {
		if rt.Scope == "" && rt.Path != "/console/logout" {
			continue // the sign-in page, the assets, the catch-all
		}
		path := routePath(rt.Path)
		switch rt.Method {
		case http.MethodGet:
			status, loc, _ := anon.get(path)
			want := "/console/login?next=" + url.QueryEscape(path)
			if status != http.StatusSeeOther || loc != want {
				t.Errorf("GET %s without a session: %d %q, want a redirect to %s", rt.Path, status, loc, want)
			}
		default:
			status, loc, _ := anon.do(rt.Method, path, url.Values{})
			if status != http.StatusUnauthorized || !strings.HasPrefix(loc, "/console/login") {
				t.Errorf("%s %s without a session: %d %q, want 401", rt.Method, rt.Path, status, loc)
			}
			status, _, body := admin.do(rt.Method, path, url.Values{})
			if status != http.StatusForbidden || !strings.Contains(body, "CSRF token") {
				t.Errorf("%s %s without a CSRF token: %d, want 403:\n%s", rt.Method, rt.Path, status, body)
			}
		}
	}
}

// do sends a form with any method.
func (b *browser) do(method, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return read(b.t, resp)
}
