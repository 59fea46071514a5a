// Package pluginrun is the job that runs a plugin declared under plugins:
// in weft.yaml: datasets, the initial stage, the additional stages it asks
// for (in parallel), one batch stage per batch of users, then publishing
// the run's properties, or discarding them when anything failed.
//
// A run is a job of kind "plugin" (parameters plugin and inputParams);
// each declared plugin is the declared job plugin:<name>, scheduled by its
// schedule, so runs of one plugin never overlap. The checkpoint is the
// whole run state (State): a run killed in the middle resumes at the
// stage or batch it was in, and completed batches are not run again.
package pluginrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// Kind is the registered job that runs plugins.
const Kind = "plugin"

// Phases of a run.
const (
	PhaseInitial   = "initial"
	PhaseStages    = "stages"
	PhaseBatches   = "batches"
	PhasePublish   = "publish"
	PhaseSucceeded = "succeeded"
	PhaseFailed    = "failed"
)

// Deps are what the job needs from the server.
type Deps struct {
	Plugins *plugin.Service
	// Config returns the configuration in force.
	Config func(ctx context.Context) (*config.Config, error)
	// WorkDir holds the stages' working directories (default the
	// system's temporary directory).
	WorkDir string
}

// Info is the job's registry entry.
func Info(d *Deps) job.Info {
	return job.Typed[Params, State](Kind, "run a plugin declared under plugins: (parameters plugin, inputParams)",
		func() *Job { return &Job{d: d} })
}

// State is a run's checkpoint, and what GET /v1/plugins/runs/{id} shows.
type State struct {
	Plugin      string            `json:"plugin"`
	Definition  plugin.Definition `json:"definition"`
	Started     time.Time         `json:"started"`
	InputParams map[string]any    `json:"inputParams"`
	Phase       string            `json:"phase"`
	// Datasets are the dataset keys with their sizes (fullDatasetSize).
	Datasets map[string]int64 `json:"datasets"`
	// Moments are the moments of datasets other than latest (a
	// percentile's seconds as computed).
	Moments map[string]plugin.Moment `json:"moments,omitempty"`
	// Stages are initial, then the additional stages by name.
	Stages  []Stage     `json:"stages"`
	Batches *BatchState `json:"batches,omitempty"`
	// Category and Properties gather what the batches' data.json declared.
	Category   string                `json:"category,omitempty"`
	Properties []plugin.PropertyDecl `json:"properties,omitempty"`
	Published  *plugin.PublishResult `json:"published,omitempty"`
	// Failure is the status of the stage that failed the run.
	Failure *Failure `json:"failure,omitempty"`
	// Variations are the initial stage's hyper-parameter variations (none
	// without hyperparameters or with every one answered), GridSize the
	// distinct combinations before the cap (0 when a float range makes
	// them unbounded), and Best the winner's index once every variation
	// ran.
	Variations []Variation `json:"variations,omitempty"`
	GridSize   int         `json:"gridSize,omitempty"`
	Best       *int        `json:"best,omitempty"`
	// Report is a report plugin's report, its date ranges resolved.
	Report *plugin.Report `json:"report,omitempty"`
}

// Variation is one run of the initial stage with one set of
// hyper-parameter values, stored as the stage initial-v<index>.
type Variation struct {
	Index int    `json:"index"`
	Stage string `json:"stage"`
	// Params are the hyper-parameters' values, added to inputParams.
	Params map[string]any `json:"params"`
	// Status: pending, running, succeeded, failed or skipped (after a
	// stopEarly).
	Status string `json:"status"`
	// Score is the results' score; nil (missing, null or not a number)
	// drops the variation.
	Score     *float64                   `json:"score"`
	StopEarly bool                       `json:"stopEarly,omitempty"`
	Data      json.RawMessage            `json:"data,omitempty"`
	Batches   *plugin.Batches            `json:"batches,omitempty"`
	Stages    map[string]json.RawMessage `json:"stages,omitempty"`
	HTTP      json.RawMessage            `json:"http,omitempty"`
	Failure   *plugin.Status             `json:"failure,omitempty"`
	// StageResults are the additional stages the variation's initial
	// stage asked for, run with its values (spec §11: the
	// hyper-parameters vary every stage), each under the scope
	// VariationStageScope; the score is the last one's that has one.
	StageResults []Stage `json:"stageResults,omitempty"`
}

// VariationStageScope is the scope (status row and storage folder) of
// additional stage name of variation k.
func VariationStageScope(name string, k int) string { return fmt.Sprintf("%s-v%d", name, k) }

// Variation statuses besides plugin.StatusSucceeded and
// plugin.StatusFailed.
const (
	VariationPending = "pending"
	VariationRunning = "running"
	VariationSkipped = "skipped"
)

// VariationScope is the stage name variation k runs under (its status
// row and storage folder); its manifest says "initial".
func VariationScope(k int) string { return fmt.Sprintf("initial-v%d", k) }

// scope is the storage folder of a stage: the winning variation's for
// initial when there are variations.
func (s *State) scope(stage string) string {
	if s.Best == nil {
		return stage
	}
	v := &s.Variations[*s.Best]
	if stage == "initial" {
		return v.Stage
	}
	if slices.ContainsFunc(v.StageResults, func(st Stage) bool { return st.Name == stage }) {
		return VariationStageScope(stage, v.Index)
	}
	return stage
}

// Stage is one non-batch stage of a run.
type Stage struct {
	Name   string `json:"name"`
	Status string `json:"status"` // pending, succeeded, failed
	// Request is what the initial stage asked for it (datasets).
	Request json.RawMessage `json:"request,omitempty"`
	// Data is the results' data; Batches its batches object.
	Data    json.RawMessage `json:"data,omitempty"`
	Batches *plugin.Batches `json:"batches,omitempty"`
	// HTTP is the results' http object (see deploy.go).
	HTTP json.RawMessage `json:"http,omitempty"`
	// Visualization is a report stage's js, jsx and helper.
	Visualization *plugin.Visualization `json:"visualization,omitempty"`
	// Score and StopEarly are the results' (a variation's stages).
	Score     *float64 `json:"score,omitempty"`
	StopEarly bool     `json:"stopEarly,omitempty"`
}

// BatchState is the batch phase: the winning batches object and how far
// it got.
type BatchState struct {
	From         string          `json:"from"` // the stage whose batches won
	MaxBatchSize int             `json:"maxBatchSize"`
	Options      json.RawMessage `json:"options,omitempty"`
	Users        int64           `json:"users"`
	Ranges       []plugin.Range  `json:"ranges"`
	Done         int             `json:"done"`
	Updates      int64           `json:"updates"`
}

// Failure is the stage that failed a run and its status.
type Failure struct {
	Stage  string        `json:"stage"`
	Status plugin.Status `json:"status"`
}

// Job runs one plugin run.
type Job struct {
	d   *Deps
	inv *job.Invocation
	// running are the variations whose stage runs in this process; done
	// is where they report.
	running map[int]bool
	done    chan variationDone
}

var (
	_ job.Worker[Params, State]   = (*Job)(nil)
	_ job.ParamsValidator[Params] = (*Job)(nil)
)

// Params are a plugin run's parameters.
type Params struct {
	// Plugin is the name of a plugin declared under plugins:.
	Plugin string `json:"plugin"`
	// InputParams answer the plugin's variables.
	InputParams map[string]any `json:"inputParams"`
}

// ErrUnknownPlugin is a run of a plugin weft.yaml does not declare.
var ErrUnknownPlugin = errors.New("unknown plugin")

// resolve finds the plugin and builds its inputParams.
func (j *Job) resolve(ctx context.Context, p Params) (*config.Config, *plugin.Definition, map[string]any, error) {
	if p.Plugin == "" {
		return nil, nil, nil, errors.New("parameter plugin (the plugin's name) is required")
	}
	cfg, err := j.d.Config(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	def, ok := cfg.Plugin(p.Plugin)
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w %q: declare it under plugins: in weft.yaml", ErrUnknownPlugin, p.Plugin)
	}
	in, err := def.InputParams(p.InputParams)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("plugin %s: %w", def.Name, err)
	}
	return cfg, def, in, nil
}

// ValidateParams refuses a trigger of an unknown plugin or with answers
// its variables refuse.
func (j *Job) ValidateParams(ctx context.Context, p Params) error {
	_, _, _, err := j.resolve(ctx, p)
	return err
}

// Prepare fixes the run: the definition in force, the inputParams, the
// start (the properties' timestamp) and the initial dataset.
func (j *Job) Prepare(ctx context.Context, inv *job.Invocation, p Params, s *State, resuming bool) (bool, error) {
	j.inv = inv
	if resuming {
		return s.Phase == PhaseSucceeded, nil
	}
	cfg, def, in, err := j.resolve(ctx, p)
	if err != nil {
		return false, job.Fail(err)
	}
	props, err := j.d.Plugins.Properties(ctx)
	if err != nil {
		return false, err
	}
	started := startTime(def.Name, props)
	if def.IsReport() {
		return false, j.prepareReport(ctx, cfg, def, in, started, s)
	}
	*s = State{Plugin: def.Name, Definition: *def, Started: started,
		InputParams: in, Phase: PhaseInitial, Datasets: map[string]int64{},
		Stages: []Stage{{Name: "initial", Status: "pending"}}}
	d := initialDataset(cfg, def, s.Started, props)
	vs, total, err := def.Variations(VariationSeed(inv.RunID), in)
	if err != nil {
		return false, job.Fail(err)
	}
	for k, v := range vs {
		s.Variations = append(s.Variations, Variation{Index: k, Stage: VariationScope(k), Params: v, Status: VariationPending})
	}
	s.GridSize = total
	if err := j.makeDataset(ctx, s, d); errors.Is(err, plugin.ErrNoConversions) {
		return false, job.Fail(fmt.Errorf("plugin %s, moment %s: %w", def.Name, def.Moment, err))
	} else if err != nil {
		return false, err
	}
	inv.Log.Info("plugin run prepared", "plugin", def.Name, "users", s.Datasets["initial"], "input_params", in)
	return false, nil
}

// VariationSeed seeds the random draws of a run's hyper-parameter
// ranges: FNV-1a of the run id, so that a run that draws them again (a
// crash before its first checkpoint, a retry) gets the same values.
func VariationSeed(run string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(run))
	return h.Sum64()
}

// startTime is now to the second, or a second after the last published
// run of the plugin: property ids carry it, and must not collide.
func startTime(name string, props []plugin.Property) time.Time {
	now := time.Now().UTC().Truncate(time.Second)
	for _, p := range props {
		if p.Plugin != name {
			continue
		}
		if _, rest, ok := strings.Cut(p.ID, "/"); ok {
			ts, _, _ := strings.Cut(rest, "/")
			if t, err := time.Parse("20060102T150405Z", ts); err == nil && !t.Before(now) {
				now = t.Add(time.Second)
			}
		}
	}
	return now
}

// initialDataset is a plugin's initial dataset at its moment, with the
// definitions of its attributes; property features name the published
// properties props resolves them to.
func initialDataset(cfg *config.Config, def *plugin.Definition, now time.Time, props []plugin.Property) *plugin.Dataset {
	d := &plugin.Dataset{Key: "initial", Seed: def.Name, Now: now, Features: features(cfg, def, props), Goal: datasetGoal(cfg, def),
		Consent: cfg.Consent.Filter(def.PurposeOrDefault())}
	switch def.Moment {
	case plugin.Moment0Sec:
		d.Moment = &plugin.Moment{Type: plugin.MomentSince}
	case plugin.Moment95Pct:
		d.Moment = &plugin.Moment{Type: plugin.MomentPercentile, Percent: 95}
	}
	for _, a := range cfg.Attributes {
		used := d.Goal != nil && d.Goal.Attribute == a.ID
		for _, f := range d.Features {
			used = used || f.Attribute == a.ID
		}
		if used {
			d.Attributes = append(d.Attributes, a)
		}
	}
	return d
}

// features are the dataset's columns. A property feature given as
// <plugin>/<name> reads that plugin's latest published run of the name,
// fixed when the run's dataset is made; an exact id, or one nothing
// answers yet, is read as given (null where unpublished).
func features(cfg *config.Config, def *plugin.Definition, props []plugin.Property) []plugin.Feature {
	attrs := map[string]*attr.Definition{}
	for i := range cfg.Attributes {
		attrs[cfg.Attributes[i].ID] = &cfg.Attributes[i]
	}
	out := make([]plugin.Feature, len(def.Features))
	for i, f := range def.Features {
		out[i] = plugin.Feature{Column: def.FeatureColumn(i), Attribute: f.Attribute, Property: f.Property}
		if p, ok := plugin.ResolveProperty(f.Property, props); f.Property != "" && ok {
			out[i].Property = p.ID
		}
		if a := attrs[f.Attribute]; a != nil {
			out[i].DataType = a.ResultType()
			out[i].Multiple = !a.SingleValued()
		}
	}
	return out
}

// datasetGoal is the dataset's goal of a plugin's goal: nil for none.
func datasetGoal(cfg *config.Config, def *plugin.Definition) *plugin.Goal {
	g := def.Goal
	if g == nil {
		return nil
	}
	if g.Event != "" {
		return &plugin.Goal{EventType: g.Event}
	}
	out := &plugin.Goal{Attribute: g.Attribute, Op: g.Op, Value: g.Value}
	for i := range cfg.Attributes {
		if cfg.Attributes[i].ID == g.Attribute {
			out.DataType = cfg.Attributes[i].ResultType()
		}
	}
	return out
}

func (j *Job) makeDataset(ctx context.Context, s *State, d *plugin.Dataset) error {
	return s.addDataset(ctx, j.d.Plugins, j.inv.RunID, d)
}

// addDataset makes a dataset of the run and records its size and moment.
func (s *State) addDataset(ctx context.Context, svc *plugin.Service, run string, d *plugin.Dataset) error {
	if err := svc.DatasetCreate(ctx, run, d); err != nil {
		return err
	}
	stored, err := svc.DatasetGet(ctx, run, d.Key) // a resumed run's, as first made
	if err != nil {
		return err
	}
	n, err := svc.DatasetSize(ctx, run, stored)
	if err != nil {
		return err
	}
	s.Datasets[d.Key] = n
	if m := stored.Moment; m != nil && m.Type != plugin.MomentLatest {
		if s.Moments == nil {
			s.Moments = map[string]plugin.Moment{}
		}
		s.Moments[d.Key] = *m
	}
	return nil
}

// Perform runs the next step: a stage, the parallel stages, a batch, or
// the publishing.
func (j *Job) Perform(ctx context.Context, s *State) (bool, error) {
	var err error
	switch s.Phase {
	case PhaseInitial:
		err = j.initial(ctx, s)
	case PhaseStages:
		err = j.stages(ctx, s)
	case PhaseBatches:
		err = j.batch(ctx, s)
	case PhasePublish:
		err = j.publish(ctx, s)
	case PhaseFailed:
		return false, j.failed(ctx, s)
	default:
		return false, job.Fail(fmt.Errorf("unknown phase %q", s.Phase))
	}
	var sf *plugin.StageFailure
	if errors.As(err, &sf) {
		s.Phase, s.Failure = PhaseFailed, &Failure{Stage: sf.Stage, Status: sf.Status}
		j.inv.Log.Error("plugin stage failed", "stage", sf.Stage, "error", sf.Error())
		return false, nil // the next Perform discards and fails the run
	}
	if err != nil {
		return false, err
	}
	return s.Phase == PhaseSucceeded, nil
}

// failed discards what the run staged, tells the user and ends the run
// in error (without the retry: the plugin said so).
func (j *Job) failed(ctx context.Context, s *State) error {
	if err := j.d.Plugins.Discard(ctx, j.inv.RunID); err != nil {
		return err
	}
	if err := j.d.Plugins.RunEnded(ctx, j.inv.RunID, s.Plugin, plugin.RunFailed); err != nil {
		return err
	}
	sf := &plugin.StageFailure{Stage: s.Failure.Stage, Status: s.Failure.Status}
	summary := sf.Error() + "; nothing was published"
	if err := j.inv.Notify.Notify(ctx, job.Notification{Level: job.LevelError, Activity: "Plugin " + s.Plugin,
		Title: "Plugin run failed", Summary: summary}); err != nil {
		return err
	}
	return job.Fail(errors.New(summary))
}

// manifest builds a stage's manifest.
func (j *Job) manifest(s *State, stage, uploadScope string, rg *plugin.Range, batch int) *plugin.Manifest {
	return buildManifest(j.d.Plugins, j.inv.RunID, j.d.Plugins.TTL(false), s, stage, uploadScope, rg, batch)
}

func buildManifest(svc *plugin.Service, run string, ttl time.Duration, s *State, stage, uploadScope string, rg *plugin.Range, batch int) *plugin.Manifest {
	m := &plugin.Manifest{Stage: stage, DataURLs: map[string]string{}, DownloadURLs: map[string]string{},
		GetUploadURLs: map[string]string{stage: svc.URL(plugin.KindUploadURL, run, uploadScope, ttl)},
		InputData:     map[string]any{}, InputParams: s.InputParams}
	if m.InputParams == nil {
		m.InputParams = map[string]any{}
	}
	datasets := map[string]any{}
	for key, n := range s.Datasets {
		u := svc.URL(plugin.KindData, run, key, ttl)
		size := n
		if rg != nil {
			u += fmt.Sprintf("?range_start_gt_or_eq=%v&range_end_lt=%v", rg.Start, rg.End)
			size = s.Batches.Users / int64(len(s.Batches.Ranges))
		}
		m.DataURLs[key] = u
		var moment *plugin.Moment
		if mo, ok := s.Moments[key]; ok {
			moment = &mo
		}
		datasets[key] = map[string]any{"fullDatasetSize": size, "moment": moment.Metadata()}
	}
	for _, st := range s.Stages {
		m.DownloadURLs[st.Name] = svc.URL(plugin.KindFiles, run, s.scope(st.Name), ttl)
	}
	m.Metadata = Metadata(&s.Definition, datasets)
	if rg != nil {
		m.Metadata["batch"] = map[string]any{"index": batch, "count": len(s.Batches.Ranges)}
		m.Options = s.Batches.Options
		if len(m.Options) == 0 {
			m.Options = json.RawMessage("{}")
		}
	}
	return m
}

// Metadata is a manifest's metadata: datasets, goal, features.
func Metadata(def *plugin.Definition, datasets map[string]any) map[string]any {
	var goal any
	switch g := def.Goal; {
	case g != nil && g.Event != "":
		goal = map[string]any{"action": "event", "event": g.Event, "times": 1,
			"human": g.Human(), "type": "categorical"}
	case g != nil:
		goal = map[string]any{"action": "attribute", "attribute": g.Attribute, "op": g.Op, "value": g.Value,
			"human": g.Human(), "type": "categorical"}
	}
	feats := map[string]any{}
	for i, f := range def.Features {
		name := f.Name
		if name == "" {
			name = f.Attribute + f.Property
		}
		feats[def.FeatureColumn(i)] = map[string]any{"name": name, "moment": "static",
			"source": map[bool]string{true: "attribute", false: "property"}[f.Attribute != ""]}
	}
	return map[string]any{"datasets": datasets, "goal": goal, "features": feats}
}

// exec runs one stage process in a fresh directory.
func (j *Job) exec(ctx context.Context, def *plugin.Definition, scope string, m *plugin.Manifest) (*plugin.Results, error) {
	return j.run(ctx, def, scope, plugin.ExecParams{Manifest: m})
}

// run runs one stage process with p's manifest in a fresh directory,
// recording the stage's start and end.
func (j *Job) run(ctx context.Context, def *plugin.Definition, scope string, p plugin.ExecParams) (*plugin.Results, error) {
	svc, run := j.d.Plugins, j.inv.RunID
	// A config stored before the operator's allowlist (or by another
	// process) is held to it here too.
	if err := svc.CheckCommand(def); err != nil {
		return nil, fmt.Errorf("stage %s: %w", scope, err)
	}
	dir, err := os.MkdirTemp(j.d.WorkDir, "weft-plugin-"+scope+"-")
	if err != nil {
		return nil, fmt.Errorf("stage %s: working directory: %w", scope, err)
	}
	defer os.RemoveAll(dir)
	if err := svc.StageStart(ctx, run, scope); err != nil {
		return nil, err
	}
	log := j.inv.Log.With("plugin", def.Name, "stage", scope)
	p.Command, p.Dir, p.Timeout, p.Log = def.Command, dir, def.Timeout(), log
	res, err := plugin.Exec(ctx, p)
	status := plugin.StatusSucceeded
	if err != nil {
		status = plugin.StatusFailed
	}
	if ctx.Err() != nil {
		return nil, ctx.Err() // interrupted: the stage runs again on resume
	}
	if ferr := svc.StageFinish(ctx, run, scope, status); ferr != nil {
		return nil, ferr
	}
	return res, err
}

// initial runs the initial stage, or its next variation.
func (j *Job) initial(ctx context.Context, s *State) error {
	if s.Definition.IsReport() {
		return j.report(ctx, s)
	}
	if len(s.Variations) > 0 {
		return j.variation(ctx, s)
	}
	res, err := j.exec(ctx, &s.Definition, "initial", j.manifest(s, "initial", "initial", nil, 0))
	if err != nil {
		return err
	}
	s.Stages[0].HTTP = res.HTTP
	return j.afterInitial(ctx, s, res.Data, res.Batches, res.Stages)
}

// variationDone is what a variation's stage process came back with.
type variationDone struct {
	index int
	res   *plugin.Results
	err   error
}

// variation keeps up to ParallelVariations variations running and
// records the next one to finish: each finished variation is one step,
// so a crash redoes only the variations that were running. The stage
// processes outlive the Perform that started them (every Perform of a run
// gets the attempt's context): the next Perform waits for the next one
// to finish. A variation running in the checkpoint but not in this
// process was interrupted, and runs again. When none is left, the
// winner is picked (best).
func (j *Job) variation(ctx context.Context, s *State) error {
	if j.running == nil {
		j.running = map[int]bool{}
		j.done = make(chan variationDone, len(s.Variations))
	}
	parallel := s.Definition.ParallelVariations
	if parallel == 0 {
		parallel = plugin.ParallelVariationsDefault
	}
	for i := range s.Variations {
		v := &s.Variations[i]
		if len(j.running) >= parallel {
			break
		}
		if v.Status != VariationPending && v.Status != VariationRunning || j.running[i] {
			continue
		}
		m := j.manifest(s, "initial", v.Stage, nil, 0)
		m.InputParams = withParams(s.InputParams, v.Params)
		m.DownloadURLs["initial"] = j.d.Plugins.URL(plugin.KindFiles, j.inv.RunID, v.Stage, j.d.Plugins.TTL(false))
		m.Metadata["variation"] = map[string]any{"index": v.Index, "count": len(s.Variations)}
		j.inv.Log.Info("variation starting", "variation", v.Index, "of", len(s.Variations), "params", v.Params,
			"resumed", v.Status == VariationRunning)
		v.Status, j.running[i] = VariationRunning, true
		def, scope := s.Definition, v.Stage
		go func() {
			res, err := j.exec(ctx, &def, scope, m)
			j.done <- variationDone{index: i, res: res, err: err}
		}()
	}
	if len(j.running) == 0 {
		return j.best(ctx, s)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case d := <-j.done:
		delete(j.running, d.index)
		return j.variationFinished(ctx, s, d)
	}
}

// variationFinished records a variation's results; a failed stage drops
// the variation, and a stopEarly skips the ones not started yet.
func (j *Job) variationFinished(ctx context.Context, s *State, d variationDone) error {
	v := &s.Variations[d.index]
	var sf *plugin.StageFailure
	if errors.As(d.err, &sf) {
		v.Status, v.Failure = plugin.StatusFailed, &sf.Status
		j.inv.Log.Warn("variation failed: dropped", "variation", v.Index, "error", sf.Error())
		return nil
	}
	if d.err != nil {
		return d.err
	}
	v.Status, v.Data, v.Batches, v.Stages, v.HTTP = plugin.StatusSucceeded, d.res.Data, d.res.Batches, d.res.Stages, d.res.HTTP
	v.Score, v.StopEarly = scoreOf(d.res.Raw)
	if err := j.variationStages(ctx, s, v); err != nil {
		var sf *plugin.StageFailure
		if !errors.As(err, &sf) {
			return err
		}
		v.Status, v.Failure, v.StageResults = plugin.StatusFailed, &sf.Status, nil
		j.inv.Log.Warn("variation failed: dropped", "variation", v.Index, "error", sf.Error())
		return nil
	}
	j.inv.Log.Info("variation done", "variation", v.Index, "score", v.Score, "stop_early", v.StopEarly)
	if v.StopEarly {
		for k := range s.Variations {
			if s.Variations[k].Status == VariationPending {
				s.Variations[k].Status = VariationSkipped
			}
		}
	}
	return nil
}

// best picks the winner, the highest score (the lowest index on a tie),
// deletes the files of every other variation, and goes on with the
// winner's results.
func (j *Job) best(ctx context.Context, s *State) error {
	best := -1
	for i, v := range s.Variations {
		if v.Status == plugin.StatusSucceeded && v.Score != nil && (best < 0 || *v.Score > *s.Variations[best].Score) {
			best = i
		}
	}
	if best < 0 {
		for _, v := range s.Variations {
			if v.Failure != nil {
				return &plugin.StageFailure{Stage: v.Stage, Status: *v.Failure}
			}
		}
		return invalid("initial", fmt.Sprintf("none of the %d hyper-parameter variations wrote a numeric score in results.json: the best cannot be chosen", len(s.Variations)))
	}
	v := &s.Variations[best]
	j.inv.Log.Info("best variation", "variation", best, "score", *v.Score, "params", v.Params)
	var files int64
	for _, w := range s.Variations {
		if w.Index == best || w.Status == VariationSkipped {
			continue
		}
		scopes := []string{w.Stage}
		for _, st := range w.StageResults {
			scopes = append(scopes, VariationStageScope(st.Name, w.Index))
		}
		for _, scope := range scopes {
			n, err := j.d.Plugins.StageFilesDelete(ctx, j.inv.RunID, scope)
			files += n
			if err != nil {
				return err
			}
		}
	}
	j.inv.Log.Info("files of the other variations deleted", "files", files)
	s.Best = &best
	s.InputParams = withParams(s.InputParams, v.Params)
	s.Stages[0].HTTP = v.HTTP
	if len(v.StageResults) > 0 { // they ran with the variation
		s.Stages[0] = Stage{Name: "initial", Status: plugin.StatusSucceeded, Data: v.Data, Batches: v.Batches, HTTP: v.HTTP}
		s.Stages = append(s.Stages[:1], v.StageResults...)
		return j.afterStages(ctx, s)
	}
	return j.afterInitial(ctx, s, v.Data, v.Batches, v.Stages)
}

// withParams is inputParams with a variation's values added.
func withParams(in, params map[string]any) map[string]any {
	out := make(map[string]any, len(in)+len(params))
	for k, v := range in {
		out[k] = v
	}
	for k, v := range params {
		out[k] = v
	}
	return out
}

// scoreOf reads score and stopEarly from results.json; a score that is
// missing, null or not a number is nil.
func scoreOf(raw json.RawMessage) (*float64, bool) {
	var r struct {
		Score     any  `json:"score"`
		StopEarly bool `json:"stopEarly"`
	}
	json.Unmarshal(raw, &r) //nolint:errcheck // results.json was parsed already; a bad score is no score
	if f, ok := r.Score.(float64); ok {
		return &f, r.StopEarly
	}
	return nil, r.StopEarly
}

// afterInitial records the initial results (of the stage, or of the best
// variation) and sets up the additional stages they ask for, or the
// batches.
func (j *Job) afterInitial(ctx context.Context, s *State, data json.RawMessage, batches *plugin.Batches, stages map[string]json.RawMessage) error {
	s.Stages[0] = Stage{Name: "initial", Status: plugin.StatusSucceeded, Data: data, Batches: batches, HTTP: s.Stages[0].HTTP}
	if len(stages) > 0 {
		names, err := j.requestStages(ctx, s, stages)
		if err != nil {
			return err
		}
		for _, name := range names {
			s.Stages = append(s.Stages, Stage{Name: name, Status: "pending", Request: stages[name]})
		}
		s.Phase = PhaseStages
		j.inv.Log.Info("additional stages requested", "stages", names)
		return nil
	}
	return j.afterStages(ctx, s)
}

// requestStages checks the names of the additional stages an initial
// stage asked for and makes the datasets they ask for; it returns the
// names in order.
func (j *Job) requestStages(ctx context.Context, s *State, stages map[string]json.RawMessage) ([]string, error) {
	names := slices.Sorted(maps.Keys(stages))
	for _, name := range names {
		if !stageName.MatchString(name) || name == "initial" || name == "batch" || name == "deploy" {
			return nil, invalid("initial", fmt.Sprintf("stages.%s: stage names are letters, digits and _ (at most 64, starting with a letter), not initial, batch or deploy", name))
		}
		if err := j.requestDatasets(ctx, s, name, stages[name]); err != nil {
			return nil, err
		}
	}
	return names, nil
}

var stageName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

func invalid(stage, explanation string) *plugin.StageFailure {
	title := "Invalid results"
	return &plugin.StageFailure{Stage: stage, Status: plugin.Status{Code: "error", Title: &title, Explanation: &explanation}}
}

// requestDatasets makes the datasets an additional stage asks for, each
// at its moment (latest when none is given).
func (j *Job) requestDatasets(ctx context.Context, s *State, stage string, req json.RawMessage) error {
	var r struct {
		Datasets map[string]struct {
			Moment *plugin.Moment `json:"moment"`
		} `json:"datasets"`
	}
	if len(req) > 0 && string(req) != "null" {
		if err := json.Unmarshal(req, &r); err != nil {
			return invalid("initial", fmt.Sprintf("stages.%s: %v", stage, err))
		}
	}
	initial, err := j.d.Plugins.DatasetGet(ctx, j.inv.RunID, "initial")
	if err != nil {
		return err
	}
	eventGoal := initial.Goal != nil && initial.Goal.EventType != ""
	for _, key := range slices.Sorted(maps.Keys(r.Datasets)) {
		field := fmt.Sprintf("stages.%s.datasets.%s", stage, key)
		if !stageName.MatchString(key) || key == "initial" {
			return invalid("initial", field+": a new dataset key (letters, digits, _), not initial or one already requested")
		}
		m := r.Datasets[key].Moment
		if m == nil {
			m = &plugin.Moment{Type: plugin.MomentLatest}
		}
		if err := m.Validate(field+".moment", eventGoal); err != nil {
			return invalid("initial", err.Error())
		}
		if _, dup := s.Datasets[key]; dup {
			// Asked for again (by another stage or variation): the one
			// made serves, if at the same moment.
			if prev, ok := s.Moments[key]; ok && !sameMoment(m, &prev) || !ok && m.Type != plugin.MomentLatest {
				return invalid("initial", field+": dataset "+key+" was already requested at another moment")
			}
			continue
		}
		nd := *initial
		nd.Key, nd.Now, nd.Moment = key, time.Now().UTC().Truncate(time.Second), m
		if err := j.makeDataset(ctx, s, &nd); errors.Is(err, plugin.ErrNoConversions) {
			return invalid("initial", field+".moment: "+err.Error())
		} else if err != nil {
			return err
		}
	}
	return nil
}

// stages runs the pending additional stages in parallel.
func (j *Job) stages(ctx context.Context, s *State) error {
	var pending []*Stage
	for i := range s.Stages {
		if s.Stages[i].Status != plugin.StatusSucceeded {
			pending = append(pending, &s.Stages[i])
		}
	}
	err := j.runStages(ctx, &s.Definition, pending, func(name string) string { return name },
		func(st *Stage) *plugin.Manifest { return j.manifest(s, st.Name, st.Name, nil, 0) })
	if err != nil {
		return err
	}
	return j.afterStages(ctx, s)
}

// runStages runs stages in parallel, each under its scope with its
// manifest, and records their results in them; it returns the first
// failure by name.
func (j *Job) runStages(ctx context.Context, def *plugin.Definition, list []*Stage, scope func(string) string, manifest func(*Stage) *plugin.Manifest) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs = map[string]error{}
	)
	for _, st := range list {
		m := manifest(st)
		wg.Go(func() {
			res, err := j.exec(ctx, def, scope(st.Name), m)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[st.Name] = err
				return
			}
			if len(res.Stages) > 0 {
				j.inv.Log.Warn("an additional stage asked for more stages: ignored (stages run initial, then one parallel layer)", "stage", st.Name)
			}
			st.Status, st.Data, st.Batches, st.HTTP = plugin.StatusSucceeded, res.Data, res.Batches, res.HTTP
			st.Score, st.StopEarly = scoreOf(res.Raw)
		})
	}
	wg.Wait()
	for _, st := range list {
		if err := errs[st.Name]; err != nil {
			return err
		}
	}
	return nil
}

// variationStages runs the additional stages a variation's initial stage
// asked for, with the variation's values, in folders of its own: its
// score becomes the last stage's (in order) that has one, and a stopEarly
// of any of them stops the variations not started yet.
func (j *Job) variationStages(ctx context.Context, s *State, v *Variation) error {
	if len(v.Stages) == 0 {
		return nil
	}
	names, err := j.requestStages(ctx, s, v.Stages)
	if err != nil {
		return err
	}
	ttl := j.d.Plugins.TTL(false)
	downloads := map[string]string{"initial": j.d.Plugins.URL(plugin.KindFiles, j.inv.RunID, v.Stage, ttl)}
	v.StageResults = nil
	for _, name := range names {
		v.StageResults = append(v.StageResults, Stage{Name: name, Status: "pending", Request: v.Stages[name]})
		downloads[name] = j.d.Plugins.URL(plugin.KindFiles, j.inv.RunID, VariationStageScope(name, v.Index), ttl)
	}
	list := make([]*Stage, len(v.StageResults))
	for i := range v.StageResults {
		list[i] = &v.StageResults[i]
	}
	j.inv.Log.Info("variation stages starting", "variation", v.Index, "stages", names)
	err = j.runStages(ctx, &s.Definition, list, func(name string) string { return VariationStageScope(name, v.Index) },
		func(st *Stage) *plugin.Manifest {
			m := j.manifest(s, st.Name, VariationStageScope(st.Name, v.Index), nil, 0)
			m.InputParams, m.DownloadURLs = withParams(s.InputParams, v.Params), downloads
			m.Metadata["variation"] = map[string]any{"index": v.Index, "count": len(s.Variations)}
			return m
		})
	if err != nil {
		return err
	}
	for _, st := range v.StageResults {
		if st.Score != nil {
			v.Score = st.Score
		}
		v.StopEarly = v.StopEarly || st.StopEarly
	}
	return nil
}

// afterStages picks the winning batches (the last stage in order that
// has one) and sets up the batch phase, or goes on to publishing.
func (j *Job) afterStages(ctx context.Context, s *State) error {
	if _, err := s.deployHTTP(); err != nil {
		return err
	}
	var win *Stage
	for i := range s.Stages {
		if s.Stages[i].Batches != nil {
			win = &s.Stages[i]
		}
	}
	if win == nil {
		s.Phase = PhasePublish
		return nil
	}
	initial, err := j.d.Plugins.DatasetGet(ctx, j.inv.RunID, "initial")
	if err != nil {
		return err
	}
	bd := *initial
	bd.Key, bd.Now, bd.Moment = "batch", time.Now().UTC().Truncate(time.Second), nil // scores users as they are now
	if err := j.makeDataset(ctx, s, &bd); err != nil {
		return err
	}
	users := s.Datasets["batch"]
	s.Batches = &BatchState{From: win.Name, MaxBatchSize: win.Batches.MaxBatchSize, Options: win.Batches.Options,
		Users: users, Ranges: plugin.BatchRanges(users, win.Batches.MaxBatchSize)}
	s.Phase = PhaseBatches
	j.inv.Log.Info("batches", "from_stage", win.Name, "users", users, "max_batch_size", win.Batches.MaxBatchSize, "batches", len(s.Batches.Ranges))
	return nil
}

// BatchScope is the stage name batch i runs under (its status row and
// its storage folder); its manifest says "batch".
func BatchScope(i int) string { return fmt.Sprintf("batch-%d", i) }

// batch runs the next batches: up to the plugin's ParallelBatches
// (default 1) stage processes at once, then their data.json validated
// and staged in batch order, so that the run ends as a sequential one
// does. A checkpoint follows each wave: a crash runs its batches again.
func (j *Job) batch(ctx context.Context, s *State) error {
	b := s.Batches
	first := b.Done
	last := min(first+max(s.Definition.ParallelBatches, 1), len(b.Ranges))
	errs := make([]error, last-first)
	var wg sync.WaitGroup
	for k := first; k < last; k++ {
		wg.Go(func() { errs[k-first] = j.batchStage(ctx, s, k) })
	}
	wg.Wait()
	for k := first; k < last; k++ {
		if errs[k-first] != nil {
			return errs[k-first]
		}
		if err := j.stageBatch(ctx, s, k); err != nil {
			return err
		}
	}
	return nil
}

// batchStage runs batch k's stage process.
func (j *Job) batchStage(ctx context.Context, s *State, k int) error {
	scope, rg := BatchScope(k), s.Batches.Ranges[k]
	j.inv.Log.Info("batch starting", "batch", k, "of", len(s.Batches.Ranges), "range_start", rg.Start, "range_end", rg.End)
	if _, err := j.exec(ctx, &s.Definition, scope, j.manifest(s, "batch", scope, &rg, k)); err != nil {
		var sf *plugin.StageFailure
		if errors.As(err, &sf) {
			sf.Stage = scope
		}
		return err
	}
	return nil
}

// stageBatch validates the data.json batch k uploaded and stages it.
func (j *Job) stageBatch(ctx context.Context, s *State, k int) error {
	b, scope := s.Batches, BatchScope(k)
	svc := j.d.Plugins
	f, err := svc.Open(ctx, plugin.Token{Kind: plugin.KindFiles, Run: j.inv.RunID, Scope: scope}, "data.json")
	if errors.Is(err, store.ErrNotFound) {
		return invalid(scope, "the batch uploaded no data.json (GET {getUploadUrls.batch}/data.json, then PUT the file to the URL it answers)")
	}
	if err != nil {
		return err
	}
	data, err := plugin.ParseBatchData(f)
	f.Close()
	if err != nil {
		return invalid(scope, err.Error())
	}
	if err := s.addProperties(data); err != nil {
		return invalid(scope, err.Error())
	}
	res, err := svc.Stage(ctx, j.inv.RunID, k, data)
	if err != nil {
		return err
	}
	b.Done++
	b.Updates += int64(res.Updates)
	j.inv.Log.Info("batch staged", "batch", k, "updates", res.Updates, "values", res.Values)
	if b.Done == len(b.Ranges) {
		s.Phase = PhasePublish
	}
	return nil
}

// addProperties merges a batch's declarations into the run's: one
// category, one type per property.
func (s *State) addProperties(d *plugin.BatchData) error {
	if d.Category != "" {
		if s.Category != "" && s.Category != d.Category {
			return fmt.Errorf("data.json: category %q differs from %q of an earlier batch", d.Category, s.Category)
		}
		s.Category = d.Category
	}
	for _, p := range d.Properties {
		found := false
		for i := range s.Properties {
			q := &s.Properties[i]
			if q.Name != p.Name {
				continue
			}
			found = true
			switch {
			case q.Type == "":
				q.Type = p.Type
			case p.Type != "" && p.Type != q.Type:
				return fmt.Errorf("data.json: property %s is a %s here but a %s in an earlier batch", p.Name, p.Type, q.Type)
			}
		}
		if !found {
			s.Properties = append(s.Properties, p)
		}
	}
	return nil
}

// publish makes the staged properties visible, all at once.
func (j *Job) publish(ctx context.Context, s *State) error {
	if len(s.Properties) > 0 {
		res, err := j.d.Plugins.Publish(ctx, plugin.PublishParams{Plugin: s.Plugin, Run: j.inv.RunID, Started: s.Started,
			Category: s.Category, Properties: s.Properties})
		if err != nil {
			return err
		}
		s.Published = res
		if res.Unknown > 0 {
			j.inv.Log.Warn("updates of unknown users were dropped", "unknown", res.Unknown, "examples", res.UnknownExamples)
		}
	}
	// Recorded before the phase moves on: a crash in between records it
	// again.
	if err := j.d.Plugins.RunEnded(ctx, j.inv.RunID, s.Plugin, plugin.RunSucceeded); err != nil {
		return err
	}
	if err := j.recordDeployable(ctx, s); err != nil {
		return err
	}
	s.Phase = PhaseSucceeded
	summary := fmt.Sprintf("%d stages", len(s.Stages))
	if s.Batches != nil {
		summary += fmt.Sprintf(", %d batches, %d updates", len(s.Batches.Ranges), s.Batches.Updates)
	}
	if s.Published != nil {
		summary += fmt.Sprintf("; published %d properties", len(s.Published.Properties))
	}
	return j.inv.Notify.Notify(ctx, job.Notification{Level: job.LevelSuccess, Activity: "Plugin " + s.Plugin,
		Title: "Plugin run succeeded", Summary: summary})
}

// sameMoment says whether a requested moment is the one a dataset was
// made at (a percentile's seconds are computed when it is made).
func sameMoment(req, made *plugin.Moment) bool {
	if req.Type != made.Type {
		return false
	}
	if req.Type == plugin.MomentPercentile {
		return req.Percent == made.Percent
	}
	return req.Seconds == made.Seconds
}
