package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/consent"
	"github.com/weftdata/weft/internal/console"
	"github.com/weftdata/weft/internal/delivery"
	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/pluginrun"
	"github.com/weftdata/weft/internal/privacy"
	"github.com/weftdata/weft/internal/rank"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/duckdb"
	"github.com/weftdata/weft/internal/store/postgres"
	"github.com/weftdata/weft/internal/trackplan"
	"github.com/weftdata/weft/job"
)

// Defaults of the process configuration.
const (
	AddrDefault            = "127.0.0.1:7700"
	DataDefault            = "./weft-data"
	ShutdownTimeoutDefault = 30 * time.Second
	// ReadHeaderTimeoutDefault bounds the reading of a request's headers.
	ReadHeaderTimeoutDefault = 10 * time.Second
	// IdleTimeoutDefault bounds how long a kept-alive connection may wait
	// for its next request.
	IdleTimeoutDefault = 2 * time.Minute
)

// Config is the process configuration. Zero values take the defaults.
type Config struct {
	// Addr is the HTTP listen address. Default AddrDefault.
	Addr string
	// DB is a postgres:// URL; empty means the embedded DuckDB in DataDir.
	DB string
	// DataDir holds the embedded database. Default DataDefault.
	DataDir string
	// DuckDB bounds the embedded database's memory (memory_limit, and the
	// folder it spills to past it); zero values take its defaults.
	DuckDB duckdb.Settings
	// APIKeys are the bootstrap keys: admin keys, beside those of the key
	// store (weft keys). Without them the server refuses to listen beyond
	// loopback.
	APIKeys []string
	// MetricsAddr, when set, is the listen address of GET /metrics, which
	// then needs no key and is not served on Addr (there it needs a key
	// with the read scope).
	MetricsAddr string
	// StrictCatalog rejects events of unregistered types.
	StrictCatalog bool
	// MaxBodyBytes bounds request bodies. Default api.MaxBodyBytesDefault.
	MaxBodyBytes int64
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// at shutdown. Default ShutdownTimeoutDefault.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds the reading of a request's headers. Default
	// ReadHeaderTimeoutDefault.
	ReadHeaderTimeout time.Duration
	// BodyReadTimeout bounds each wait for more of a request's body (not
	// the whole body, so a large upload that is slow but moving goes
	// through). Default api.BodyReadTimeoutDefault; negative: no limit.
	BodyReadTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection may wait for its
	// next request. Default IdleTimeoutDefault.
	IdleTimeout time.Duration
	// StitchInterval is how soon after events arrive stitching runs;
	// negative means only on demand. Default pipeline.StitchIntervalDefault.
	StitchInterval time.Duration
	// StitchMaxDelay is the longest background stitching gives way to
	// ingestion that keeps the store busy; negative: never. Default
	// pipeline.StitchMaxDelayDefault.
	StitchMaxDelay time.Duration
	// SegmentFieldsInterval is how often the copy of the payload fields
	// segment conditions read catches up with the log (DuckDB); negative
	// turns it off. Default pipeline.SegmentFieldsIntervalDefault.
	SegmentFieldsInterval time.Duration
	// StitchBatch is how many events a stitching pass takes (one
	// transaction). Default stitch.BatchSizeDefault.
	StitchBatch int
	// Attributes tune the attribute engine; zero values take its defaults.
	Attributes attr.Options
	// Jobs tune the job runtime (lease, stall timeout, retention,
	// concurrency); zero values take its defaults.
	Jobs jobrunner.Options
	// SecretKeyFile holds the key secrets are encrypted with (see
	// kv.ParseSecretKey); SecretKey is the key itself, from the
	// environment. At most one may be set; with neither, secrets cannot be
	// written.
	SecretKeyFile string
	SecretKey     string
	// ConfigFile, when set, is a weft.yaml applied at start (unless the
	// same document is already in force).
	ConfigFile string
	// Plugins configure plugin URLs and storage: BaseURL defaults to
	// http://<Addr> (the real port when Addr's is 0), StorageURL to
	// file://<DataDir>/plugin-storage.
	Plugins plugin.Options
	// Deploy tunes the deployments of deployable plugins (Declared and
	// RunLog are filled in by Start).
	Deploy plugin.DeployOptions
	// The operator boundary (boundary.go): PluginCommands and the lines of
	// PluginCommandsFile are the plugin commands allowed (patterns of
	// plugin.Commands); with neither, those of ConfigFile's plugins.
	// ImportFolders are the folders file:// import sources may read;
	// default <DataDir>/imports. ExportFolders are the folders file://
	// targets of file exports may write to; default <DataDir>/exports.
	PluginCommands     []string
	PluginCommandsFile string
	ImportFolders      []string
	ExportFolders      []string
	exportFolders      []string // ExportFolders made absolute, with the default
	// PrivacyExports is the folder (file://, s3://, azblob://) privacy
	// access and portability exports are written to. Default
	// file://<DataDir>/privacy-exports.
	PrivacyExports string
	// PrivacyURLTTL is how long an export URL handed out stays valid.
	// Default privacy.URLTTLDefault.
	PrivacyURLTTL time.Duration
	// PrivacyExportRetention is how long privacy exports are kept after
	// they are written. Default privacy.ExportRetentionDefault; negative
	// keeps them for good.
	PrivacyExportRetention time.Duration

	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = AddrDefault
	}
	if c.DataDir == "" {
		c.DataDir = DataDefault
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = ShutdownTimeoutDefault
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = ReadHeaderTimeoutDefault
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = IdleTimeoutDefault
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate checks the configuration before anything is opened.
func (c Config) Validate() error {
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return fmt.Errorf("--db must be a postgres:// URL, got %q (leave it empty for the embedded store in --data)", redact(c.DB))
	}
	if c.SecretKeyFile != "" && c.SecretKey != "" {
		return errors.New("--secret-key-file and WEFT_SECRET_KEY are both set: keep one")
	}
	for _, k := range c.APIKeys {
		if k == "" {
			return errors.New("--api-key: empty key")
		}
	}
	if c.MetricsAddr != "" && c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
		return fmt.Errorf("--metrics-addr %q is --addr: give the metrics a listen address of their own", c.MetricsAddr)
	}
	if len(c.APIKeys) == 0 {
		loopback, err := isLoopback(c.Addr)
		if err != nil {
			return fmt.Errorf("--addr %q: %w", c.Addr, err)
		}
		if !loopback {
			return fmt.Errorf("--addr %q is not a loopback address: set --api-key (or WEFT_API_KEYS) before exposing the API", c.Addr)
		}
	}
	return nil
}

func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

// redact hides a password in a URL for messages.
func redact(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
			return u[:scheme+3] + "***" + u[at:]
		}
	}
	return u
}

// secretKey reads the secret key; nil when none is configured.
func (c Config) secretKey() ([]byte, error) {
	switch {
	case c.SecretKeyFile != "":
		return kv.ReadSecretKeyFile(c.SecretKeyFile)
	case c.SecretKey != "":
		key, err := kv.ParseSecretKey(c.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("WEFT_SECRET_KEY: %w", err)
		}
		return key, nil
	}
	return nil, nil
}

// OpenStore opens the configured store and migrates it.
func OpenStore(ctx context.Context, c Config) (*store.DB, error) {
	c = c.withDefaults()
	if c.DB != "" {
		db, err := postgres.Open(ctx, c.DB, nil)
		if err != nil {
			return nil, withoutTLSAttempts(err)
		}
		return db, nil
	}
	return duckdb.OpenWith(ctx, c.DataDir, nil, &c.DuckDB)
}

// Server is a running platform.
type Server struct {
	cfg      Config
	Store    *store.DB
	Pipeline *pipeline.Pipeline
	// The stores of job code: the kv store, settings and secrets.
	KV       *kv.KV
	Settings *kv.Store
	Secrets  *kv.Store
	Plugins  *plugin.Service
	// Keys are the API keys: the key store and the bootstrap keys.
	Keys *keys.Keyring
	// Privacy is the OpenDSR processor.
	Privacy *privacy.Service
	// Ranker ranks delivery requests from its in-memory state, refreshed
	// in the background with the pipeline's stages.
	Ranker *rank.Ranker
	ln     net.Listener
	http   *http.Server
	done   chan error

	stopLoop context.CancelFunc // of the background stages
	loopDone chan struct{}

	shutdownOnce sync.Once
	shutdownErr  error

	metrics *metricsServer // GET /metrics on MetricsAddr; nil without one
}

// Start validates the configuration, opens the store, and starts serving.
// On any error it releases what it had opened (store, listener, plugin
// service), last opened first, through one cleanup stack.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	secretKey, err := cfg.secretKey()
	if err != nil {
		return nil, err
	}
	if err := cfg.boundary(secretKey); err != nil {
		return nil, err
	}
	var opened cleanup
	defer func() {
		if err != nil {
			err = errors.Join(err, opened.release())
		}
	}()
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	opened.push(st.Close)
	for _, w := range st.Warnings() {
		cfg.Logger.Warn(w)
	}
	// A strict catalog refuses unregistered types: the Delivery and
	// Metrics APIs' own are registered, or /log would refuse every record.
	if cfg.StrictCatalog {
		if _, err := st.EventTypeRegisterMany(ctx, delivery.EventTypes()); err != nil {
			return nil, fmt.Errorf("register the delivery event types: %w", err)
		}
	}
	secrets, err := kv.NewSecrets(st, secretKey, nil)
	if err != nil {
		return nil, err
	}
	settings := kv.NewSettings(st, nil)
	kvStore := kv.New(st, nil)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	opened.push(ln.Close)
	plugins, err := openPlugins(ctx, st, cfg, ln.Addr().String())
	if err != nil {
		return nil, err
	}
	opened.push(plugins.Close)
	var pipe *pipeline.Pipeline
	privacySvc, err := openPrivacy(ctx, st, cfg, secretKey, ln.Addr().String(), func(ctx context.Context) ([]string, error) {
		return configSource{pipe}.Categories(ctx)
	})
	if err != nil {
		return nil, err
	}
	opened.push(privacySvc.Close)
	cfg.Jobs.Builtin = append(cfg.Jobs.Builtin, privacySvc.JobInfo())
	// Events carrying an erased person's identifiers are dropped at ingest.
	suppressor := erasure.NewSuppressor(st, func(ctx context.Context) (stitch.Config, error) { return pipe.StitchingRules(ctx) })
	// Every path that appends events is checked against the tracking plan.
	checker := trackplan.NewChecker(st, cfg.Logger)
	ingester := event.NewIngester(st, &event.IngesterOpts{StrictCatalog: cfg.StrictCatalog, Suppress: suppressor.DropQuery, Check: checker.Check})
	// Jobs append events as POST /v1/events does, and wake stitching.
	cfg.Jobs.Env.Events = &event.Writer{In: ingester, Appended: func(int) { pipe.EventsArrived() }}
	cfg.Jobs.Env.KV, cfg.Jobs.Env.Settings, cfg.Jobs.Env.Secrets = kvStore, settings, secrets
	cfg.Jobs.Env.SharedKV, cfg.Jobs.JobKV = kvStore, func(name string) job.KV { return kvStore.ForJob(name) }
	pipe, err = startPipeline(ctx, st, cfg, plugins, ingester.Busy)
	if err != nil {
		return nil, err
	}
	pipe.Watch(func(c *config.Config) { checker.SetConfig(c.TrackingPlan) })
	privacySvc.SetTrigger(pipe.Jobs())
	// Every consumer of the configuration in force reads it from one
	// source: the pipeline's, current on read and pushed on change.
	inForce := configSource{pipe}
	warnCommands(ctx, inForce, plugins, cfg.Logger)
	ranker := rank.New(rank.Options{DB: st, Logger: cfg.Logger, Delivery: func(ctx context.Context) (*rank.Delivery, error) {
		c, err := inForce.Current(ctx)
		if c == nil {
			return nil, err
		}
		return &c.Delivery, err
	}, Consent: inForce.Consent})
	deliverySvc := delivery.New(delivery.Options{
		Ingester: ingester,
		Ranker:   ranker,
		Reload:   inForce.Refresh,
		Appended: func(int) { pipe.EventsArrived() },
		Logger:   cfg.Logger,
		// The operator's key, never the config's.
		PseudonymKey: delivery.PseudonymKey(cfg.Plugins.ServerKey),
	})
	inForce.Watch(deliverySvc.SetConfig)
	deployOpts := cfg.Deploy
	deployOpts.Declared = inForce.Plugins
	deployOpts.RunLog = pipe.Jobs().RunLog
	if deployOpts.Failed == nil { // an error notification (pluginrun)
		deployOpts.Failed = pluginrun.NotifyDeployFailed(pipe.Jobs(), st, cfg.Logger)
	}
	deployer := plugins.NewDeployer(deployOpts)
	keyring := keys.New(st, &keys.Options{Bootstrap: cfg.APIKeys, Logger: cfg.Logger})
	auditLog := audit.New(st, nil)
	apiCfg := api.Config{
		Store:        st,
		Pipeline:     pipe,
		Ingester:     ingester,
		Keys:         keyring,
		Audit:        auditLog,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Settings:     settings,
		Secrets:      secrets,
		Plugins:      plugins,
		Deployer:     deployer,
		Delivery:     deliverySvc,
		Privacy:      privacySvc,
		TrackingPlan: checker,
		Logger:       cfg.Logger,

		BodyReadTimeout: cfg.BodyReadTimeout,
		Console: console.New(console.Config{
			Store: st, Pipeline: pipe, Keys: keyring, Audit: auditLog,
			Plugins: plugins, Delivery: deliverySvc, Logger: cfg.Logger,
		}),
	}
	var (
		handler http.Handler
		metrics *metricsServer
	)
	if cfg.MetricsAddr == "" {
		handler = api.NewHandler(apiCfg)
	} else {
		var metricsHandler http.Handler
		handler, metricsHandler = api.NewHandlerWithMetrics(apiCfg)
		if metrics, err = listenMetrics(cfg, metricsHandler); err != nil {
			return nil, err
		}
		opened.push(metrics.close)
	}
	s := &Server{
		cfg:      cfg,
		Store:    st,
		Pipeline: pipe,
		KV:       kvStore,
		Settings: settings,
		Secrets:  secrets,
		Plugins:  plugins,
		Privacy:  privacySvc,
		Ranker:   ranker,
		Keys:     keyring,
		ln:       ln,
		metrics:  metrics,
		http: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.http.Serve(ln) }()
	loopCtx, stopLoop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopLoop, s.loopDone = stopLoop, make(chan struct{})
	go func() {
		defer close(s.loopDone)
		// The delivery logs still queued are written before the store
		// closes (Shutdown waits for loopDone).
		var background sync.WaitGroup
		background.Go(func() { deliverySvc.Run(loopCtx) })
		background.Go(func() { s.Ranker.Run(loopCtx) })
		// Deployed plugin servers belong to this process: they stop
		// (their process groups killed) before the store closes.
		background.Go(func() { deployer.Run(loopCtx) })
		pipe.Run(loopCtx)
		background.Wait()
	}()
	// Requests stored before a stop are taken up again.
	if err := privacySvc.Wake(ctx); err != nil {
		cfg.Logger.Error("privacy: resume requests", "error", err)
	}
	backend := "duckdb " + cfg.DataDir
	if cfg.DB != "" {
		backend = "postgres " + redact(cfg.DB)
	}
	cfg.Logger.Info("weft serving", "addr", s.Addr(), "console", s.URL()+console.Prefix, "store", backend, "strict_catalog", cfg.StrictCatalog, "api_keys", len(cfg.APIKeys), "secret_key", secretKey != nil)
	if metrics != nil {
		cfg.Logger.Info("weft serving metrics", "metrics_addr", metrics.addr())
	}
	warnOpen(ctx, cfg.Logger, keyring)
	if secretKey == nil {
		cfg.Logger.Warn("no secret key: secrets cannot be written; set WEFT_SECRET_KEY or --secret-key-file (weft secrets keygen prints a key)")
	}
	return s, nil
}

// Addr is the address the server listens on (with the real port when the
// configured one was 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the base URL of the API.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Wait serves until ctx ends or the server fails, then shuts down.
func (s *Server) Wait(ctx context.Context) error {
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-s.done:
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, s.Shutdown())
}

// Shutdown stops accepting, lets in-flight requests finish (up to the
// shutdown timeout) and closes the store.
func (s *Server) Shutdown() error {
	s.shutdownOnce.Do(func() {
		s.cfg.Logger.Info("weft shutting down")
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		err := s.http.Shutdown(ctx)
		if s.metrics != nil {
			err = errors.Join(err, s.metrics.shutdown(ctx))
		}
		// A pass cut short rolls back; the next start redoes it.
		s.stopLoop()
		<-s.loopDone
		s.shutdownErr = errors.Join(err, s.Plugins.Close(), s.Privacy.Close(), s.Store.Close())
	})
	return s.shutdownErr
}

// openPlugins opens the plugin service with its defaults filled in.
func openPlugins(ctx context.Context, st *store.DB, cfg Config, addr string) (*plugin.Service, error) {
	opts := cfg.Plugins
	if opts.BaseURL == "" {
		opts.BaseURL = "http://" + addr
	}
	if opts.StorageURL == "" {
		dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "plugin-storage"))
		if err != nil {
			return nil, err
		}
		opts.StorageURL = "file://" + filepath.ToSlash(dir)
	}
	if opts.Log == nil {
		opts.Log = cfg.Logger
	}
	if opts.Retention <= 0 {
		opts.Retention = cmp.Or(cfg.Jobs.Retention, jobrunner.RetentionDefault) // as finished runs are kept
	}
	return plugin.Open(ctx, st, opts)
}

// openPrivacy opens the OpenDSR processor with its defaults filled in: the
// key pair sealed in the database under the secret key, else in a file of
// the data directory; exports in the data directory unless PrivacyExports
// says otherwise.
func openPrivacy(ctx context.Context, st *store.DB, cfg Config, secretKey []byte, addr string, categories func(context.Context) ([]string, error)) (*privacy.Service, error) {
	opts := privacy.Options{DB: st, BaseURL: cmp.Or(cfg.Plugins.BaseURL, "http://"+addr), SecretKey: secretKey,
		ExportURL: cfg.PrivacyExports, URLTTL: cfg.PrivacyURLTTL, ExportRetention: cfg.PrivacyExportRetention,
		Categories: categories, Logger: cfg.Logger}
	if secretKey == nil {
		opts.KeyDir = filepath.Join(cfg.DataDir, "privacy-key")
	}
	if opts.ExportURL == "" {
		dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "privacy-exports"))
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("privacy export folder: %w", err)
		}
		opts.ExportURL = "file://" + filepath.ToSlash(dir)
	}
	return privacy.Open(ctx, opts)
}

// cleanup is a stack of releases of what Start has opened so far.
type cleanup []func() error

func (c *cleanup) push(release func() error) { *c = append(*c, release) }

// release undoes the stack, last opened first.
func (c cleanup) release() error {
	var errs []error
	for i := len(c) - 1; i >= 0; i-- {
		errs = append(errs, c[i]())
	}
	return errors.Join(errs...)
}

// configSource is the configuration in force, as its consumers (the
// ranker, the delivery service, the deployer) read it: Current on demand,
// noticing a version another process applied, and Watch for every change.
type configSource struct{ pipe *pipeline.Pipeline }

// Current is the configuration in force.
func (c configSource) Current(ctx context.Context) (*config.Config, error) {
	_, cfg, err := c.pipe.Config(ctx)
	return cfg, err
}

// Refresh notices a version another process applied; watchers hear of it.
func (c configSource) Refresh(ctx context.Context) error {
	_, err := c.Current(ctx)
	return err
}

// Consent is the consent section of the configuration in force.
func (c configSource) Consent(ctx context.Context) (consent.Config, error) {
	cfg, err := c.Current(ctx)
	if err != nil {
		return nil, err
	}
	return cfg.Consent, nil
}

// Watch calls fn with the configuration in force and with every later one.
func (c configSource) Watch(fn func(*config.Config)) { c.pipe.Watch(fn) }

// Categories are the identifier categories of the stitching rules in
// force, sorted: the identity types privacy requests may name.
func (c configSource) Categories(ctx context.Context) ([]string, error) {
	cfg, err := c.Current(ctx)
	if err != nil || cfg == nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range cfg.EffectiveStitching().Rules {
		if !seen[r.Identifier] {
			seen[r.Identifier] = true
			out = append(out, r.Identifier)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Plugins are the plugins declared in force.
func (c configSource) Plugins(ctx context.Context) ([]plugin.Definition, error) {
	cfg, err := c.Current(ctx)
	if err != nil || cfg == nil {
		return nil, err
	}
	return cfg.Plugins, nil
}

// startPipeline loads the configuration in force and applies ConfigFile.
func startPipeline(ctx context.Context, st *store.DB, cfg Config, plugins *plugin.Service, ingestBusy func() time.Duration) (*pipeline.Pipeline, error) {
	pipe, err := pipeline.New(ctx, st, pipeline.Options{
		StitchInterval: cfg.StitchInterval, StitchMaxDelay: cfg.StitchMaxDelay, IngestBusy: ingestBusy,
		SegmentFieldsInterval: cfg.SegmentFieldsInterval,
		StitchBatch:           cfg.StitchBatch, Attributes: cfg.Attributes, Jobs: cfg.Jobs,
		Plugins: plugins, StrictCatalog: cfg.StrictCatalog, Logger: cfg.Logger, ExportFolders: cfg.exportFolders})
	if err != nil {
		return nil, err
	}
	if cfg.ConfigFile == "" {
		return pipe, nil
	}
	body, err := os.ReadFile(cfg.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	stored, _, err := pipe.Config(ctx)
	if err != nil {
		return nil, err
	}
	if stored.Version > 0 && stored.Body == string(body) {
		return pipe, nil
	}
	if _, err := pipe.Apply(ctx, body); err != nil {
		return nil, fmt.Errorf("--config %s: %w", cfg.ConfigFile, err)
	}
	return pipe, nil
}
