package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/delivery"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/privacy"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/trackplan"
)

// MaxBodyBytesDefault is the default request body limit, before and after
// decompression.
const MaxBodyBytesDefault = 64 << 20

// Config is what the API needs.
type Config struct {
	Store    store.Store
	Ingester *event.Ingester
	// Pipeline applies configs and runs stitching.
	Pipeline *pipeline.Pipeline
	// Keys are the API keys, stored and bootstrap, that routes check
	// against their scope (see scope.go). Default: the key store of Store
	// with APIKeys as bootstrap keys.
	Keys *keys.Keyring
	// APIKeys are the bootstrap (admin) keys when Keys is nil.
	APIKeys []string
	// Audit, when set, records every change asked of the API. Default:
	// the audit trail of Store.
	Audit *audit.Log
	// MaxBodyBytes bounds request bodies. Default MaxBodyBytesDefault.
	MaxBodyBytes int64
	// MaxConcurrentIngest bounds the ingest requests decoded at once; more
	// wait their turn. With MaxBodyBytes it bounds the memory ingestion
	// takes, however many clients send. Default MaxConcurrentIngestDefault.
	MaxConcurrentIngest int
	// MaxConcurrentDeliver bounds the requests of the Delivery and Metrics
	// APIs served at once, and DeliverBodyBudget the bytes their bodies
	// hold together (after gzip decoding); a request beyond either is
	// answered 503 with Retry-After. Defaults MaxConcurrentDeliverDefault
	// and MaxBodyBytes.
	MaxConcurrentDeliver int
	DeliverBodyBudget    int64
	// BodyReadTimeout bounds each wait for more of a request body: a body
	// that stops arriving for this long ends its request with 408. Default
	// BodyReadTimeoutDefault; negative: no limit.
	BodyReadTimeout time.Duration
	// Settings and Secrets, when set, are served under /v1/settings and
	// /v1/secrets (secrets without their values).
	Settings *kv.Store
	Secrets  *kv.Store
	// Plugins, when set, serves the signed URLs of plugin runs under
	// /plugin/ (storage, datasets) and the plugin properties of profiles.
	Plugins *plugin.Service
	// Deployer, with Plugins, serves predictions of deployed plugins and
	// their deployments' status.
	Deployer *plugin.Deployer
	// Delivery, when set, serves the Delivery API (POST /deliver) and the
	// Metrics API (POST /log), which take the keys of delivery.api_keys
	// too (see authorize).
	Delivery *delivery.Service
	// Privacy, when set, serves the OpenDSR processor under /v1/privacy/.
	Privacy *privacy.Service
	Logger  *slog.Logger

	// Console, when set, is served under /console/ (internal/console): it
	// checks its own sessions and keeps its own route table.
	Console http.Handler

	// TrackingPlan, when set, is the ingester's tracking plan check: its
	// counter is exported with the API's metrics.
	TrackingPlan *trackplan.Checker

	// metrics, set by NewHandlerWithMetrics, are served apart from the
	// API instead of at GET /metrics.
	metrics *metrics
}

// MaxConcurrentIngestDefault is the default of Config.MaxConcurrentIngest.
const MaxConcurrentIngestDefault = 4

type handler struct {
	store     store.Store
	ingester  *event.Ingester
	pipeline  *pipeline.Pipeline
	keyring   *keys.Keyring
	audit     *audit.Log
	maxBody   int64
	ingestSem chan struct{}
	plugins   *plugin.Service
	deployer  *plugin.Deployer
	delivery  *delivery.Service
	privacy   *privacy.Service
	trackplan *trackplan.Checker
	log       *slog.Logger
	metrics   *metrics

	// deliverGate admits the requests of /deliver and /log.
	deliverGate *gate
}

// NewHandler returns the HTTP API.
func NewHandler(cfg Config) http.Handler {
	root, _ := newHandler(cfg)
	return root
}

// newHandler returns the HTTP API and its route table, every method and
// pattern it serves, for the test that holds the OpenAPI document to it.
func newHandler(cfg Config) (http.Handler, []route) {
	h := &handler{
		store:    cfg.Store,
		ingester: cfg.Ingester,
		pipeline: cfg.Pipeline,
		plugins:  cfg.Plugins,
		deployer: cfg.Deployer,
		delivery: cfg.Delivery,
		privacy:  cfg.Privacy,
		maxBody:  cfg.MaxBodyBytes,
		log:      cfg.Logger,
		metrics:  cfg.metrics,
		keyring:  cfg.Keys,
		audit:    cfg.Audit,
	}
	h.trackplan = cfg.TrackingPlan
	if h.metrics == nil {
		h.metrics = newMetrics()
	}
	if h.maxBody <= 0 {
		h.maxBody = MaxBodyBytesDefault
	}
	if cfg.MaxConcurrentIngest <= 0 {
		cfg.MaxConcurrentIngest = MaxConcurrentIngestDefault
	}
	h.ingestSem = make(chan struct{}, cfg.MaxConcurrentIngest)
	if cfg.MaxConcurrentDeliver <= 0 {
		cfg.MaxConcurrentDeliver = MaxConcurrentDeliverDefault
	}
	if cfg.DeliverBodyBudget <= 0 {
		cfg.DeliverBodyBudget = h.maxBody
	}
	h.deliverGate = newGate(cfg.MaxConcurrentDeliver, cfg.DeliverBodyBudget)
	if cfg.BodyReadTimeout == 0 {
		cfg.BodyReadTimeout = BodyReadTimeoutDefault
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.defaultKeysAndAudit(cfg)

	mux := newRouteMux(h.guard)
	mux.Route(scopePublic, "GET /healthz", h.healthz)
	if cfg.metrics == nil {
		mux.Route(scopeRead, "GET /metrics", h.metrics.handler().ServeHTTP)
	}
	if h.delivery != nil {
		mux.Route(scopeDelivery, "POST /deliver", h.deliver)
		mux.Route(scopeDelivery, "POST /log", h.logRequest)
	}

	v1 := newRouteMux(h.guard)
	v1.Route(scopeRead, "GET /v1/openapi.json", h.openAPI)
	v1.Route(scopeIngest, "POST /v1/events", h.eventsIngest)
	v1.Route(scopeRead, "GET /v1/events", h.eventsList)
	v1.Route(scopeRead, "GET /v1/event-types", h.eventTypesList)
	v1.Route(scopeAdmin, "POST /v1/event-types", h.eventTypesRegister)
	v1.Route(scopeRead, "GET /v1/sources", h.sourcesList)
	v1.Route(scopeRead, "GET /v1/stats", h.stats)
	v1.Route(scopeAdmin, "GET /v1/config", h.configGet)
	v1.Route(scopeAdmin, "PUT /v1/config", h.configPut)
	v1.Route(scopeJobs, "POST /v1/stitching/run", h.stitchingRun)
	v1.Route(scopeRead, "GET /v1/entities", h.entitiesList)
	v1.Route(scopeRead, "GET /v1/entities/{id}", h.entityGet)
	v1.Route(scopeRead, "GET /v1/entities/{id}/events", h.entityEvents)
	v1.Route(scopeRead, "GET /v1/entities/{id}/merges", h.entityMerges)
	v1.Route(scopeRead, "GET /v1/entities/{id}/history", h.entityHistory)
	v1.Route(scopeRead, "GET /v1/entities/{id}/graph", h.entityGraph)
	v1.Route(scopeRead, "GET /v1/attributes", h.attributesList)
	v1.Route(scopeRead, "GET /v1/attributes/{id}/values", h.attributeValues)
	v1.Route(scopeJobs, "POST /v1/attributes/run", h.attributesRun)
	v1.Route(scopeAdmin, "POST /v1/attributes/refresh-context", h.attributesRefreshContext)
	v1.Route(scopeAdmin, "POST /v1/attributes/refresh-caches", h.attributesRefreshCaches)
	v1.Route(scopeRead, "GET /v1/jobs", h.jobsList)
	v1.Route(scopeJobs, "POST /v1/jobs/{job}/runs", h.jobTrigger)
	v1.Route(scopeRead, "GET /v1/jobs/runs", h.jobRunsList)
	v1.Route(scopeRead, "GET /v1/jobs/runs/{id}", h.jobRunGet)
	v1.Route(scopeRead, "GET /v1/jobs/runs/{id}/logs", h.jobRunLogs)
	v1.Route(scopeJobs, "POST /v1/jobs/runs/{id}/terminate", h.jobRunTerminate)
	v1.Route(scopeRead, "GET /v1/notifications", h.notificationsList)
	v1.Route(scopeRead, "GET /v1/objects", h.objectsTypes)
	v1.Route(scopeIngest, "POST /v1/objects/{type}", h.objectsUpsert)
	v1.Route(scopeRead, "GET /v1/objects/{type}", h.objectsList)
	v1.Route(scopeRead, "POST /v1/graphql", h.graphQL)
	v1.Route(scopeRead, "GET /v1/graphql", h.graphQL)
	if cfg.Settings != nil {
		(&recordStore{h: h, store: cfg.Settings, name: "settings", readable: true}).routes(v1)
	}
	if cfg.Secrets != nil {
		(&recordStore{h: h, store: cfg.Secrets, name: "secrets"}).routes(v1)
	}
	if cfg.Plugins != nil {
		v1.Route(scopeRead, "GET /v1/properties", h.propertiesList)
		v1.Route(scopeRead, "GET /v1/plugins", h.pluginsList)
		v1.Route(scopeJobs, "POST /v1/plugins/{name}/runs", h.pluginRunCreate)
		v1.Route(scopeAdmin, "POST /v1/plugins/{name}/manifest", h.pluginManifest)
		v1.Route(scopeRead, "GET /v1/plugins/runs", h.pluginRunsList)
		v1.Route(scopeRead, "GET /v1/plugins/runs/{id}", h.pluginRunGet)
		v1.Route(scopeRead, "GET /v1/plugins/runs/{id}/results", h.pluginResults)
		if h.deployer != nil {
			v1.Route(scopeDelivery, "POST /v1/plugins/{name}/predict", h.pluginPredict)
		}
	}
	h.keyRoutes(v1)
	h.segmentRoutes(v1)
	h.privacyRoutes(mux, v1)
	h.auditRoutes(v1)
	h.repairRoutes(v1)
	h.segmentPreviewRoutes(v1)
	h.destinationRoutes(v1)
	h.trackingRoutes(v1)
	h.sdkSettingsRoutes(v1)
	h.trackingPlanRoutes(v1)
	v1.HandleFunc("/v1/", h.requireAnyKey(h.notFound))
	mux.Handle("/v1/", v1)
	var devRoutes []route // the local-development API (plugin_dev.go)
	if h.plugins != nil {
		devRoutes = h.developerRoutes(mux)
	}
	if h.plugins != nil && h.deployer != nil {
		// The spec's route (§10) for one deployment.
		mux.Route(scopeDelivery, "POST /api/plugins/{name}/deployments/{id}/predict", h.deploymentPredict)
	}
	if cfg.Console != nil {
		mux.Handle("/console/", cfg.Console)
	}
	mux.HandleFunc("/", h.notFound)

	routes := append(append(mux.routes, v1.routes...), devRoutes...)
	var root http.Handler = mux
	if h.plugins != nil {
		routes = append(routes, pluginURLRoutes...)
		root = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, plugin.PathPrefix) {
				h.pluginURLs(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		})
	}
	return withRequestID(h.metrics.instrument(h.recoverPanics(bodyDeadlines(root, cfg.BodyReadTimeout)))), routes
}

// route is one entry of the route table: a method and a path pattern as
// http.ServeMux reads them ("/v1/entities/{id}"), and the scope a key
// needs to call it.
type route struct {
	method, path string
	scope        scope
}

// routeMux is a ServeMux that keeps the table of the routes registered on
// it, each guarded by the key check of its scope; the catch-alls ("/v1/",
// "/") are not routes.
type routeMux struct {
	*http.ServeMux
	routes []route
	guard  func(route, http.Handler) http.Handler
}

func newRouteMux(guard func(route, http.Handler) http.Handler) *routeMux {
	return &routeMux{ServeMux: http.NewServeMux(), guard: guard}
}

// Route registers a route, a method and a path, with the scope a key needs
// to call it.
func (m *routeMux) Route(s scope, pattern string, f http.HandlerFunc) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		panic("api: route " + pattern + " has no method")
	}
	rt := route{method, path, s}
	m.routes = append(m.routes, rt)
	m.ServeMux.Handle(pattern, m.guard(rt, f))
}

// pluginURLRoutes are the signed plugin URLs (internal/plugin, sign.go),
// which pluginURLs serves before the mux sees them; {path...} is the file
// path the plugin appends.
var pluginURLRoutes = []route{
	{http.MethodGet, plugin.PathPrefix + plugin.KindUploadURL + "/{run}/{stage}/{exp}/{sig}/{path...}", scopeSigned},
	{http.MethodPut, plugin.PathPrefix + plugin.KindPut + "/{run}/{stage}/{exp}/{sig}/{path...}", scopeSigned},
	{http.MethodGet, plugin.PathPrefix + plugin.KindFiles + "/{run}/{stage}/{exp}/{sig}/{path...}", scopeSigned},
	{http.MethodHead, plugin.PathPrefix + plugin.KindFiles + "/{run}/{stage}/{exp}/{sig}/{path...}", scopeSigned},
	{http.MethodGet, plugin.PathPrefix + plugin.KindData + "/{run}/{key}/{exp}/{sig}", scopeSigned},
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, &Error{http.StatusNotFound, "not_found", "no route for " + clip.String(r.Method+" "+r.URL.Path)})
}

func (h *handler) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.writeError(w, r, fmt.Errorf("panic in handler: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// healthz is GET /healthz, open to anyone: it says nothing but its status.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
