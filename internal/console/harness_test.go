package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// adminKey is the bootstrap key of the servers the tests start.
const adminKey = "weft_console_test_admin_key"

// startServer starts weft serve on a backend ("duckdb" or "postgres")
// with the bootstrap key adminKey (none when open), stitching on demand;
// opts change the config further (plugin commands, ...).
func startServer(t testing.TB, backend string, open bool, opts ...func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), StitchInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if backend == "postgres" {
		cfg.DB = pgtest.URL(t)
	}
	if !open {
		cfg.APIKeys = []string{adminKey}
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	return s
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so that tests see them.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get returns the status, Location and body of GET path.
func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	return read(b.t, resp)
}

// post posts a form to path.
func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return read(b.t, resp)
}

func read(t testing.TB, resp *http.Response) (int, string, string) {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the CSRF token of the forms of a page.
func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token field in the page:\n%s", page)
	}
	return m[1]
}

// signIn signs the browser in with key and returns the CSRF token of its
// session.
func (b *browser) signIn(key string) string {
	b.t.Helper()
	_, _, page := b.get("/console/login")
	status, loc, body := b.post("/console/login", url.Values{"key": {key}, "csrf_token": {csrf(b.t, page)}})
	if status != http.StatusSeeOther || loc != "/console/" {
		b.t.Fatalf("sign in: %d %q\n%s", status, loc, body)
	}
	status, _, page = b.get("/console/")
	if status != http.StatusOK {
		b.t.Fatalf("overview after sign in: %d\n%s", status, page)
	}
	return csrf(b.t, page)
}

// mustContain fails unless the page holds every string.
func mustContain(t testing.TB, page string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("the page lacks %q:\n%s", w, page)
		}
	}
}

// api calls the server's HTTP API with the admin key and fails the test
// unless it answers 2xx; it returns the body.
func api(t testing.TB, s *server.Server, method, path, contentType, body string) string {
	t.Helper()
	_, out := apiHeader(t, s, method, path, contentType, body)
	return out
}

// apiHeader is api that returns the answer's header too.
func apiHeader(t testing.TB, s *server.Server, method, path, contentType, body string) (http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", adminKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := resp.Header
	status, _, out := read(t, resp)
	if status >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, status, out)
	}
	return h, out
}
