package api_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
)

// clock is a settable clock for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type pluginServer struct {
	*testServer
	plugins *plugin.Service
	clock   *clock
	// header goes with the requests of workedProfiles (a key), and
	// extraConfig after the worked example's config (plugins).
	header      map[string]string
	extraConfig string
}

// newPluginServer serves the API with plugin URLs over a fresh store,
// with plugin files in a temporary directory.
func newPluginServer(t *testing.T, backend string, opts plugin.Options) *pluginServer {
	t.Helper()
	return newPluginServerWith(t, backend, opts, api.Config{})
}

// newPluginServerWith is newPluginServer with more of the API's
// configuration (keys).
func newPluginServerWith(t *testing.T, backend string, opts plugin.Options, cfg api.Config) *pluginServer {
	t.Helper()
	st := openStore(t, backend)
	var h http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	c := &clock{t: time.Now()}
	opts.BaseURL = "http://" + srv.Listener.Addr().String()
	opts.StorageURL = "file://" + t.TempDir()
	opts.Now = c.Now
	svc, err := plugin.Open(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	cfg.Plugins, cfg.Logger = svc, slog.New(slog.NewTextHandler(io.Discard, nil))
	ts := newServerOn(t, st, cfg)
	ts.Server.Close()
	h = ts.Server.Config.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	ts.Server = srv
	return &pluginServer{testServer: ts, plugins: svc, clock: c}
}

// fetch sends a request to an absolute URL.
func fetch(t *testing.T, method, url string, body []byte) response {
	t.Helper()
	return send(t, method, url, nil, body)
}

func TestPluginStorage(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newPluginServer(t, backend, plugin.Options{MaxFileBytes: 1000})
			ctx := context.Background()
			run := "3f1c2a9e-1b7d-4c55-9a43-2f0e8d6b7c11"
			if err := s.plugins.StageStart(ctx, run, "initial"); err != nil {
				t.Fatal(err)
			}
			ttl := s.plugins.TTL(false)
			upInitial := s.plugins.URL(plugin.KindUploadURL, run, "initial", ttl)
			downInitial := s.plugins.URL(plugin.KindFiles, run, "initial", ttl)
			model := []byte("weights \x00\x01 of the model")

			// Upload: GET the presigned URL as text, then PUT to it.
			r := fetch(t, "GET", upInitial+"/models/model1.pkl", nil)
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
				t.Fatalf("upload url: %d %s", r.status, r.body)
			}
			putURL := string(r.body)
			if r := fetch(t, "PUT", putURL, model); r.status != 200 {
				t.Fatalf("put: %d %s", r.status, r.body)
			}
			// The presigned URL is for that path only.
			expectError(t, fetch(t, "PUT", strings.Replace(putURL, "model1.pkl", "model2.pkl", 1), model), 403, "invalid_signature", "")
			expectError(t, fetch(t, "GET", putURL, nil), 405, "method_not_allowed", "takes PUT")

			// The next stage runs: initial accepts no more uploads, its
			// files stay readable from any stage.
			if err := s.plugins.StageFinish(ctx, run, "initial", plugin.StatusSucceeded); err != nil {
				t.Fatal(err)
			}
			if err := s.plugins.StageStart(ctx, run, "trainMore"); err != nil {
				t.Fatal(err)
			}
			expectError(t, fetch(t, "GET", upInitial+"/model3.pkl", nil), 403, "stage_not_running", `stage "initial"`)
			expectError(t, fetch(t, "PUT", putURL, model), 403, "stage_not_running", "current stage")
			expectError(t, fetch(t, "GET", s.plugins.URL(plugin.KindUploadURL, run, "never", ttl)+"/x", nil), 403, "stage_not_running", `no stage "never"`)
			r = fetch(t, "GET", downInitial+"/models/model1.pkl", nil)
			if r.status != 200 || !bytes.Equal(r.body, model) {
				t.Fatalf("download: %d %q", r.status, r.body)
			}
			expectError(t, fetch(t, "GET", downInitial+"/models/nothing.pkl", nil), 404, "not_found", "")

			// Paths: relative only.
			upMore := s.plugins.URL(plugin.KindUploadURL, run, "trainMore", ttl)
			for path, msg := range map[string]string{
				"/../initial/x":                 `".." segment`,
				"/a/./b":                        `"." segment`,
				"//etc/passwd":                  "is absolute",
				"/a//b":                         "empty segment",
				"/dir/":                         "empty segment",
				"":                              "is empty",
				`/a\b`:                          "backslash",
				"/" + strings.Repeat("x", 1100): "longer than 1024",
			} {
				expectError(t, fetch(t, "GET", upMore+path, nil), 400, "invalid_path", msg)
			}
			expectError(t, fetch(t, "GET", downInitial+"/../../etc/passwd", nil), 400, "invalid_path", `".." segment`)

			// 5 GB per file (here 1000 bytes): refused, nothing kept.
			r = fetch(t, "GET", upMore+"/big.bin", nil)
			expectError(t, fetch(t, "PUT", string(r.body), make([]byte, 1001)), 413, "file_too_large", "1000 bytes")
			expectError(t, fetch(t, "GET", s.plugins.URL(plugin.KindFiles, run, "trainMore", ttl)+"/big.bin", nil), 404, "not_found", "")
			if r := fetch(t, "PUT", string(r.body), make([]byte, 1000)); r.status != 200 {
				t.Fatalf("put 1000 bytes: %d %s", r.status, r.body)
			}

			// Tampering: another stage, run or expiry under the same
			// signature, or a changed signature.
			parts := strings.Split(strings.TrimPrefix(upMore, s.URL+plugin.PathPrefix), "/")
			tamper := func(i int, v string) string {
				p := append([]string(nil), parts...)
				p[i] = v
				return s.URL + plugin.PathPrefix + strings.Join(p, "/") + "/f"
			}
			expectError(t, fetch(t, "GET", tamper(2, "initial"), nil), 403, "invalid_signature", "")
			expectError(t, fetch(t, "GET", tamper(1, "other-run"), nil), 403, "invalid_signature", "")
			expectError(t, fetch(t, "GET", tamper(3, "99999999999"), nil), 403, "invalid_signature", "")
			expectError(t, fetch(t, "GET", tamper(4, "AAAA"+parts[4][4:]), nil), 403, "invalid_signature", "")
			expectError(t, fetch(t, "GET", tamper(0, "files"), nil), 403, "invalid_signature", "")
			expectError(t, fetch(t, "GET", s.URL+"/plugin/upload-url/x", nil), 404, "not_found", "malformed")

			// Expiry: refused once passed.
			s.clock.Add(ttl + time.Second)
			expectError(t, fetch(t, "GET", upMore+"/late.bin", nil), 403, "url_expired", "expired at")
			expectError(t, fetch(t, "GET", downInitial+"/models/model1.pkl", nil), 403, "url_expired", "")
		})
	}
}

var _ = store.ErrNotFound
