package pluginrun

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
)

// Dev serves Stormly's local-development API (spec §13) for the plugins
// of the configuration in force: each plugin has one development run,
// DevRun(name), whose initial dataset is made in the background when
// asked for, and whose stage manifests are then handed out with URLs
// valid for the development TTL. A dataset once made is in the store, so
// every server sees it; one being made is known to the server making it.
type Dev struct {
	svc *plugin.Service
	// timeout bounds the making of one dataset; build makes it (make).
	timeout time.Duration
	build   func(ctx context.Context, ds *plugin.Dataset) error

	mu     sync.Mutex
	builds map[string]*devBuild // by plugin
	wg     sync.WaitGroup
}

// devBuild is the making of a development initial dataset.
type devBuild struct {
	moment string
	done   chan struct{}
	err    error // set before done is closed
}

// devBuildTimeout bounds the making of a development dataset.
const devBuildTimeout = time.Hour

// NewDev returns the development API's state over the plugin service.
func NewDev(svc *plugin.Service) *Dev {
	d := &Dev{svc: svc, timeout: devBuildTimeout, builds: map[string]*devBuild{}}
	d.build = d.make
	return d
}

// Wait waits for the datasets being made.
func (d *Dev) Wait() { d.wg.Wait() }

// initialMoment is the dataset moment of an initial_dataset moment.
func initialMoment(moment string) (*plugin.Moment, error) {
	switch moment {
	case plugin.Moment0Sec:
		return &plugin.Moment{Type: plugin.MomentSince}, nil
	case plugin.Moment95Pct:
		return &plugin.Moment{Type: plugin.MomentPercentile, Percent: 95}, nil
	case plugin.MomentLatest:
		return nil, nil
	}
	return nil, fmt.Errorf("%w, not %q", ErrBadMoment, moment)
}

// PrepareInitial is POST initial_dataset/{moment}: it starts making the
// plugin's development initial dataset at the moment (0_sec, latest,
// 95_pct) and answers preparing; while one is being made it answers
// preparing and starts nothing; when the one made is at that moment it
// answers ready. One made at another moment is made again.
func (d *Dev) PrepareInitial(ctx context.Context, cfg *config.Config, name, moment string) (DevDataset, error) {
	def, err := declared(cfg, name)
	if err != nil {
		return DevDataset{}, err
	}
	if def.IsReport() {
		return DevDataset{}, fmt.Errorf("%w: plugin %s is a report plugin (GET get_manifest)", ErrNotReport, name)
	}
	m, err := initialMoment(moment)
	if err != nil {
		return DevDataset{}, err
	}
	if m != nil {
		if err := m.Validate("moment "+moment, def.Goal != nil && def.Goal.Event != ""); err != nil {
			return DevDataset{}, fmt.Errorf("%w: %w", ErrBadMoment, err)
		}
	}
	cur, err := d.DevDatasetStatus(ctx, name)
	switch {
	case err != nil:
		return DevDataset{}, err
	case cur.Status == DevPreparing, cur.Status == DevReady && cur.Moment == moment:
		return cur, nil
	}
	props, err := d.svc.Properties(ctx)
	if err != nil {
		return DevDataset{}, err
	}
	ds := initialDataset(cfg, def, time.Now().UTC().Truncate(time.Second), props)
	ds.Moment = m
	b := &devBuild{moment: moment, done: make(chan struct{})}
	d.mu.Lock()
	if prev := d.builds[name]; prev != nil && !closed(prev.done) {
		d.mu.Unlock() // another request started one meanwhile
		return DevDataset{Status: DevPreparing, Moment: prev.moment, Message: "Dataset is still being prepared"}, nil
	}
	d.builds[name] = b
	d.mu.Unlock()
	d.wg.Add(1)
	go func() { // the request's end does not stop it
		defer d.wg.Done()
		defer close(b.done)
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
		defer cancel()
		b.err = d.build(bctx, ds)
	}()
	return DevDataset{Status: DevPreparing, Moment: moment, Message: "Dataset is being prepared"}, nil
}

// make makes a development run's initial dataset afresh.
func (d *Dev) make(ctx context.Context, ds *plugin.Dataset) error {
	run := DevRun(ds.Seed) // the seed is the plugin's name
	for _, key := range []string{"initial", "batch"} {
		if err := d.svc.DatasetDelete(ctx, run, key); err != nil {
			return err
		}
	}
	return d.svc.DatasetCreate(ctx, run, ds)
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Manifest is GET get_manifest/{stage}: the manifest of the stage
// (initial, batch or an additional stage's name) of the plugin's
// development run, once its initial dataset is ready; a
// *DevNotReadyError before.
func (d *Dev) Manifest(ctx context.Context, cfg *config.Config, name, stage string) (*plugin.Manifest, error) {
	def, err := declared(cfg, name)
	if err != nil {
		return nil, err
	}
	if def.IsReport() {
		return nil, fmt.Errorf("%w: plugin %s is a report plugin (GET get_manifest)", ErrNotReport, name)
	}
	if stage != "initial" && stage != "batch" && (!stageName.MatchString(stage) || stage == "deploy") {
		return nil, fmt.Errorf("%w, not %q", ErrDevStage, stage)
	}
	st, err := d.DevDatasetStatus(ctx, name)
	if err != nil {
		return nil, err
	}
	if st.Status != DevReady {
		return nil, &DevNotReadyError{st}
	}
	s, err := devState(ctx, d.svc, def, nil)
	if err != nil {
		return nil, err
	}
	run := DevRun(name)
	initial, err := d.svc.DatasetGet(ctx, run, "initial")
	if err != nil {
		return nil, err
	}
	if err := s.addDataset(ctx, d.svc, run, initial); err != nil {
		return nil, err
	}
	return devStageManifest(ctx, d.svc, s, stage, nil)
}

// ErrDevNotReport is a report manifest asked of an intelligence plugin.
var ErrDevNotReport = errors.New("not a report plugin")

// ReportManifest is GET get_manifest (no stage): the manifest of a report
// plugin's development run (spec §12's shape: dataUrl, downloadUrl,
// getUploadUrl, inputData, inputParams). Report plugins are not declared
// on this branch: every plugin is refused with ErrDevNotReport, naming
// get_manifest/initial instead. (At merge with report plugins: a report
// plugin answers pluginrun.ReportManifest(ctx, d.svc, cfg,
// ReportManifestParams{Plugin: name}).)
func (d *Dev) ReportManifest(ctx context.Context, cfg *config.Config, name string) (any, error) {
	def, err := declared(cfg, name)
	if err != nil {
		return nil, err
	}
	if !def.IsReport() {
		return nil, fmt.Errorf("%w: plugin %s is an intelligence plugin: its manifests are GET get_manifest/initial, get_manifest/batch and get_manifest/<stage>", ErrDevNotReport, name)
	}
	return ReportManifest(ctx, d.svc, cfg, ReportManifestParams{Plugin: name})
}

// UploadURL is GET upload_url/{plugin}/{stage}/{path}: the signed PUT URL
// of a file of a running stage of the plugin's development run, valid for
// the development TTL.
func (d *Dev) UploadURL(ctx context.Context, cfg *config.Config, name, stage, path string) (string, error) {
	if _, err := declared(cfg, name); err != nil {
		return "", err
	}
	if err := plugin.ValidatePath(path); err != nil {
		return "", err
	}
	if stage == "" || !stageName.MatchString(stage) && !slices.Contains([]string{"initial", "batch"}, stage) {
		return "", fmt.Errorf("%w, not %q", ErrDevStage, stage)
	}
	return d.svc.UploadURL(ctx, d.svc.Token(plugin.KindUploadURL, DevRun(name), stage, d.svc.TTL(true)), path)
}
