package console

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/delivery"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
)

// Prefix is where the console is served.
const Prefix = "/console/"

// Config is what the console reads and acts on: the services weft serve
// starts, shared with the API.
type Config struct {
	Store    store.Store
	Pipeline *pipeline.Pipeline
	Keys     *keys.Keyring
	// Audit records the changes made through the console, as the API's.
	Audit *audit.Log
	// Plugins and Delivery are optional, as in the API.
	Plugins  *plugin.Service
	Delivery *delivery.Service
	Logger   *slog.Logger

	// SessionIdle ends a session unused for this long; SessionMax ends
	// any session this long after sign-in. Defaults SessionIdleDefault
	// and SessionMaxDefault.
	SessionIdle, SessionMax time.Duration
	// Now is the clock (tests move it). Default time.Now.
	Now func() time.Time
}

// Session lifetimes by default.
const (
	SessionIdleDefault = 30 * time.Minute
	SessionMaxDefault  = 12 * time.Hour
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Console is the web console's handler.
type Console struct {
	cfg      Config
	log      *slog.Logger
	sessions *sessions
	mux      *http.ServeMux
	// routes is the route table: every page and action with its scope.
	routes []Route
	// nav lists the pages in the navigation, in order.
	nav   []navItem
	pages map[string]*template.Template
	// figures keeps the overview's counts.
	figures *figures
}

// Route is one page or action of the console and the scope a session's
// key needs for it.
type Route struct {
	Method, Path string
	// Scope is a keys.Scope*, or "" for the pages anyone may open (sign-in
	// and the assets).
	Scope string
}

// navItem is an entry of the navigation; show, when set, hides the entry
// while it has nothing to show (the segments page before any segment).
type navItem struct {
	Label, Path string
	show        func(r *http.Request) bool
}

// New returns the console. It panics on a template that does not parse,
// which the tests catch.
func New(cfg Config) *Console {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = SessionIdleDefault
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = SessionMaxDefault
	}
	c := &Console{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), sessions: newSessions(cfg.Now, cfg.SessionIdle, cfg.SessionMax)}
	c.pages = parsePages()
	c.authRoutes()
	c.overviewRoutes()
	c.profileRoutes()
	c.attributeRoutes()
	c.segmentRoutes()
	c.jobRoutes()
	c.pluginRoutes()
	c.deliveryRoutes()
	c.configRoutes()
	return c
}

// Routes returns the route table.
func (c *Console) Routes() []Route { return append([]Route(nil), c.routes...) }

// ServeHTTP serves the console with its security headers: the
// Content-Security-Policy keeps every request on this server.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	c.mux.ServeHTTP(w, r)
}

// page registers a page or action that needs a signed-in session whose key
// has scope. Actions (any method but GET and HEAD) must carry the
// session's CSRF token in the form field csrf_token.
func (c *Console) page(scope, pattern string, f func(w http.ResponseWriter, r *http.Request, s *Session)) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		panic("console: route " + pattern + " has no method")
	}
	c.routes = append(c.routes, Route{method, path, scope})
	c.mux.Handle(pattern, c.signedIn(scope, method != http.MethodGet && method != http.MethodHead, f))
}

// public registers a route anyone may call.
func (c *Console) public(pattern string, f http.HandlerFunc) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok { // a catch-all of every method
		method, path = "", pattern
	}
	c.routes = append(c.routes, Route{method, path, ""})
	c.mux.Handle(pattern, f)
}

// addNav adds a page to the navigation.
func (c *Console) addNav(label, path string, show func(r *http.Request) bool) {
	c.nav = append(c.nav, navItem{label, path, show})
}

// assets serves the embedded scripts and styles. They change only with
// the binary, so browsers may keep them an hour.
func (c *Console) assets() http.Handler {
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix(Prefix+"assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
