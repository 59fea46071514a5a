package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Defaults of DeployOptions.
const (
	DeployStartTimeoutDefault    = time.Minute
	DeployCheckIntervalDefault   = 30 * time.Second
	DeployMaxFailuresDefault     = 3
	DeployMaxRestartsDefault     = 5
	DeployPollIntervalDefault    = time.Second
	DeployMaxRequestBytesDefault = 10 << 20
	DeployRequestTimeoutDefault  = time.Minute
	// deployReadyInterval is how often statusPath is asked while the
	// server starts (spec §10: every second).
	deployReadyInterval = time.Second
	deployCheckTimeout  = 5 * time.Second
)

// Deployment statuses.
const (
	DeployDeploying = "deploying"
	DeployDeployed  = "deployed"
	DeployFailed    = "deploy_failed"
	DeployStopped   = "stopped"
)

// DeployOptions configure a Deployer. Zero values take the defaults.
type DeployOptions struct {
	// StartTimeout bounds how long a server may take to answer 200 on
	// statusPath after it starts; past it the start failed. Default
	// DeployStartTimeoutDefault.
	StartTimeout time.Duration
	// CheckInterval is how often a deployed server's statusPath is
	// asked. Default DeployCheckIntervalDefault.
	CheckInterval time.Duration
	// MaxFailures consecutive failed checks restart the server. Default
	// DeployMaxFailuresDefault.
	MaxFailures int
	// MaxRestarts bounds the restarts of one deployment (after a failed
	// check, an exit or a failed restart); past it the deployment is
	// deploy_failed. Default DeployMaxRestartsDefault.
	MaxRestarts int
	// PollInterval is how often the latest deployable runs are looked up.
	// Default DeployPollIntervalDefault.
	PollInterval time.Duration
	// MaxRequestBytes bounds a prediction request's body. Default
	// DeployMaxRequestBytesDefault.
	MaxRequestBytes int64
	// RequestTimeout bounds a proxied prediction request. Default
	// DeployRequestTimeoutDefault.
	RequestTimeout time.Duration
	// WorkDir holds the servers' working directories (default the
	// system's temporary directory).
	WorkDir string
	// Declared lists the plugins of the configuration in force: only
	// those are deployed, the others' deployments stop, and a run is
	// deployed only while its plugin's command in force is allowed
	// (Options.Commands). Required.
	Declared func(ctx context.Context) ([]Definition, error)
	// RunLog is the log of a run, which gets the server's stdout and
	// stderr (info, with stream and plugin) and the deployment's events.
	// Default Log.
	RunLog func(run string) *slog.Logger
	Log    *slog.Logger
	// Failed, when set, is told of every deployment that ends
	// deploy_failed (refused, never healthy, or past MaxRestarts), with
	// the reason in LastError: the server sends an error notification.
	Failed func(ctx context.Context, st DeploymentStatus)
}

// DeploymentStatus is a deployment as the API shows it.
type DeploymentStatus struct {
	Plugin string `json:"plugin"`
	Run    string `json:"run"`
	// Status: deploying, deployed, deploy_failed or stopped.
	Status string `json:"status"`
	// Port is the loopback port the server listens on, PID its process
	// (the /bin/sh running startServerCmd, its process group's leader).
	Port      int        `json:"port,omitempty"`
	PID       int        `json:"pid,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Restarts  int        `json:"restarts"`
	LastError string     `json:"last_error,omitempty"`
	// Explain is http.explain, as the plugin gave it.
	Explain json.RawMessage `json:"explain,omitempty"`
}

// NoDeploymentError is a prediction for a plugin with no deployment up.
type NoDeploymentError struct {
	Plugin string
	Run    string
	Reason string
}

func (e *NoDeploymentError) Error() string {
	what := "plugin " + e.Plugin
	if e.Run != "" {
		what += ", run " + e.Run + ","
	}
	return fmt.Sprintf("%s has no deployment up: %s", what, e.Reason)
}

// UpstreamError is a deployed server that did not answer a prediction.
type UpstreamError struct {
	Plugin  string
	Err     error
	Timeout bool
}

func (e *UpstreamError) Error() string {
	return fmt.Sprintf("the deployed server of plugin %s did not answer: %v", e.Plugin, e.Err)
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// Deployer runs the HTTP servers of deployable plugins (spec §10): for
// each declared plugin its latest successful deployable run, started in
// a fresh working directory, health-checked, restarted when it fails,
// and replaced when a newer run succeeds. Deployments belong to the
// server process: Run stops them all when it returns.
type Deployer struct {
	svc    *Service
	opts   DeployOptions
	client *http.Client

	mu sync.Mutex
	// serving is the deployment predictions of a plugin go to; latest
	// its newest one (the same, or one still starting); runs every
	// deployment by run.
	serving map[string]*deployment
	latest  map[string]*deployment
	runs    map[string]*deployment
	wg      sync.WaitGroup
}

// NewDeployer makes the deployer of the service's runs.
func (s *Service) NewDeployer(opts DeployOptions) *Deployer {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DeployStartTimeoutDefault
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = DeployCheckIntervalDefault
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = DeployMaxFailuresDefault
	}
	if opts.MaxRestarts < 0 {
		opts.MaxRestarts = 0
	} else if opts.MaxRestarts == 0 {
		opts.MaxRestarts = DeployMaxRestartsDefault
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DeployPollIntervalDefault
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DeployMaxRequestBytesDefault
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DeployRequestTimeoutDefault
	}
	if opts.Log == nil {
		opts.Log = s.opts.Log
	}
	if opts.RunLog == nil {
		opts.RunLog = func(run string) *slog.Logger { return opts.Log.With("run_id", run) }
	}
	// Loopback only, never through a proxy of the environment.
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second}
	return &Deployer{svc: s, opts: opts, client: &http.Client{Transport: tr},
		serving: map[string]*deployment{}, latest: map[string]*deployment{}, runs: map[string]*deployment{}}
}

// MaxRequestBytes is the bound on a prediction request's body.
func (d *Deployer) MaxRequestBytes() int64 { return d.opts.MaxRequestBytes }

// Run deploys until ctx ends, looking for newer deployable runs every
// PollInterval, then stops every server.
func (d *Deployer) Run(ctx context.Context) {
	t := time.NewTicker(d.opts.PollInterval)
	defer t.Stop()
	for {
		if err := d.Sync(ctx); err != nil && ctx.Err() == nil {
			d.opts.Log.Error("plugin deployments", "error", err)
		}
		select {
		case <-ctx.Done():
			d.stopAll()
			return
		case <-t.C:
		}
	}
}

// Sync starts the deployments of runs that became deployable and stops
// those of plugins no longer declared.
func (d *Deployer) Sync(ctx context.Context) error {
	latest, err := d.svc.DeployLatest(ctx)
	if err != nil {
		return err
	}
	defs, err := d.opts.Declared(ctx)
	if err != nil {
		return err
	}
	declared := map[string]bool{}
	refused := map[string]error{}
	for i := range defs {
		declared[defs[i].Name] = true
		// The run was made by a command allowed then; it is served by
		// this process only if the command in force is allowed now.
		refused[defs[i].Name] = d.svc.CheckCommand(&defs[i])
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if ctx.Err() != nil {
		return nil
	}
	for _, l := range latest {
		if !declared[l.Plugin] {
			continue
		}
		if cur := d.runs[l.Run]; cur != nil && cur.status().Status != DeployStopped {
			continue
		}
		if prev := d.latest[l.Plugin]; prev != nil && prev != d.serving[l.Plugin] {
			go prev.stop() // superseded while it was starting
		}
		p := d.newDeployment(l)
		d.runs[l.Run], d.latest[l.Plugin] = p, p
		if err := refused[l.Plugin]; err != nil {
			p.refuse(err)
			continue
		}
		d.wg.Go(func() { p.supervise(ctx) })
	}
	for plugin, p := range d.latest {
		if !declared[plugin] {
			d.opts.Log.Info("plugin is no longer declared: its deployment stops", "plugin", plugin)
			go p.stop()
			if s := d.serving[plugin]; s != nil && s != p {
				go s.stop()
			}
			delete(d.latest, plugin)
			delete(d.serving, plugin)
		}
	}
	return nil
}

// stopAll stops every deployment and waits for their processes to end.
func (d *Deployer) stopAll() {
	d.mu.Lock()
	all := make([]*deployment, 0, len(d.runs))
	for _, p := range d.runs {
		all = append(all, p)
	}
	d.mu.Unlock()
	for _, p := range all {
		p.cancel()
	}
	d.wg.Wait()
}

// promote makes a deployment that became healthy the plugin's serving
// one, unless a newer run superseded it, and stops the one it replaces.
func (d *Deployer) promote(p *deployment) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.latest[p.plugin] != p {
		return false
	}
	if old := d.serving[p.plugin]; old != nil && old != p {
		d.opts.Log.Info("plugin deployment replaced", "plugin", p.plugin, "run", p.run, "replaced_run", old.run)
		go old.stop()
	}
	d.serving[p.plugin] = p
	return true
}

// Status is a plugin's deployment: the serving one while it is
// deployed, else the newest; nil when there is none.
func (d *Deployer) Status(plugin string) *DeploymentStatus {
	d.mu.Lock()
	s, l := d.serving[plugin], d.latest[plugin]
	d.mu.Unlock()
	if s != nil && s.status().Status == DeployDeployed {
		st := s.status()
		return &st
	}
	if l != nil {
		st := l.status()
		return &st
	}
	return nil
}

// RunStatus is a run's deployment in this server; nil when it has none.
func (d *Deployer) RunStatus(run string) *DeploymentStatus {
	d.mu.Lock()
	p := d.runs[run]
	d.mu.Unlock()
	if p == nil {
		return nil
	}
	st := p.status()
	return &st
}

// Predict sends a prediction request to a plugin's deployed server: a
// POST of body to requestPath. run, when not empty, must be the run
// deployed. The caller closes the response's body.
func (d *Deployer) Predict(ctx context.Context, plugin, run string, body []byte) (*http.Response, error) {
	d.mu.Lock()
	p := d.serving[plugin]
	if run != "" {
		p = d.runs[run]
		if p != nil && p.plugin != plugin {
			p = nil
		}
	}
	d.mu.Unlock()
	if p == nil {
		reason := "no successful run of it has returned http (is it declared, and did a run succeed?)"
		if run != "" {
			reason = "this server has no deployment of that run"
		}
		return nil, &NoDeploymentError{Plugin: plugin, Run: run, Reason: reason}
	}
	st := p.status()
	base := p.baseURL()
	if st.Status != DeployDeployed || base == "" {
		reason := "it is " + st.Status
		if st.LastError != "" {
			reason += ": " + st.LastError
		}
		return nil, &NoDeploymentError{Plugin: plugin, Run: run, Reason: reason}
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.RequestTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+p.spec.HTTP.RequestPath, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	p.authorize(req)
	resp, err := d.client.Do(req)
	if err != nil {
		cancel()
		return nil, &UpstreamError{Plugin: plugin, Err: err, Timeout: errors.Is(err, context.DeadlineExceeded)}
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
