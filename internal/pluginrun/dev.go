package pluginrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
)

// DevRun is the run id of a plugin's development manifests: stable, so
// files a developer uploads in the initial stage are there for the batch
// manifest.
func DevRun(name string) string { return "dev-" + name }

// DevManifestParams ask for a development manifest.
type DevManifestParams struct {
	Plugin string
	// Stage is initial or batch.
	Stage   string
	Answers map[string]any
	// Results is the initial stage's results.json, optional: its batches
	// give the batch manifest its options and batch size.
	Results json.RawMessage
}

// ErrInvalidInput is an answer the plugin's variables refuse.
var ErrInvalidInput = errors.New("invalid inputParams")

// ErrBadStage is a development manifest of a stage other than initial and
// batch.
var ErrBadStage = errors.New("stage must be initial or batch")

// DevManifest makes a working manifest for running a plugin by hand, as
// Stormly's developer API does: fresh datasets, URLs valid for the
// development TTL, and the stage marked running so that uploads go in.
// The batch manifest covers the first batch of users.
func DevManifest(ctx context.Context, svc *plugin.Service, cfg *config.Config, p DevManifestParams) (*plugin.Manifest, error) {
	def, err := declared(cfg, p.Plugin)
	if err != nil {
		return nil, err
	}
	if def.IsReport() {
		return nil, fmt.Errorf("%w: plugin %s is a report plugin (ask for stage report)", ErrNotReport, def.Name)
	}
	if p.Stage != "initial" && p.Stage != "batch" {
		return nil, fmt.Errorf("%w, not %q", ErrBadStage, p.Stage)
	}
	s, err := devState(ctx, svc, def, p.Answers)
	if err != nil {
		return nil, err
	}
	run := DevRun(def.Name)
	if err := svc.DatasetDelete(ctx, run, "initial"); err != nil {
		return nil, err
	}
	props, err := svc.Properties(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.addDataset(ctx, svc, run, initialDataset(cfg, def, s.Started, props)); err != nil {
		return nil, err
	}
	return devStageManifest(ctx, svc, s, p.Stage, p.Results)
}

// declared finds a plugin declared under plugins:.
func declared(cfg *config.Config, name string) (*plugin.Definition, error) {
	def, ok := cfg.Plugin(name)
	if !ok {
		return nil, fmt.Errorf("%w %q: declare it under plugins: in weft.yaml", ErrUnknownPlugin, name)
	}
	return def, nil
}

// devState is the state of a plugin's development run before its
// datasets: the answers (by hand, the first variation's values for the
// hyper-parameters left unanswered) and the initial stage.
func devState(ctx context.Context, svc *plugin.Service, def *plugin.Definition, answers map[string]any) (*State, error) {
	in, err := def.InputParams(answers)
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %s: %w", ErrInvalidInput, def.Name, err)
	}
	run := DevRun(def.Name)
	if vs, _, err := def.Variations(VariationSeed(run), in); err == nil && len(vs) > 0 {
		in = withParams(in, vs[0])
	}
	return &State{Plugin: def.Name, Definition: *def, Started: time.Now().UTC().Truncate(time.Second), InputParams: in,
		Datasets: map[string]int64{}, Stages: []Stage{{Name: "initial"}}}, nil
}

// devStageManifest is the manifest of a stage of a development run whose
// initial dataset is in s: the stage is marked running so that uploads go
// in. A batch manifest makes the batch dataset afresh and covers its
// first batch, with the batches of results (an initial results.json) or
// the default ones; an additional stage sees the initial dataset, and the
// files of initial and of itself.
func devStageManifest(ctx context.Context, svc *plugin.Service, s *State, stage string, results json.RawMessage) (*plugin.Manifest, error) {
	run, ttl := DevRun(s.Plugin), svc.TTL(true)
	var rg *plugin.Range
	switch stage {
	case "initial":
	case "batch":
		b := &plugin.Batches{MaxBatchSize: plugin.MaxBatchSizeDefault}
		if len(results) > 0 && string(results) != "null" {
			res, err := plugin.ParseResults("initial", results)
			if err != nil {
				return nil, fmt.Errorf("%w: results: %w", ErrInvalidInput, err)
			}
			if res.Batches != nil {
				b = res.Batches
			}
		}
		initial, err := svc.DatasetGet(ctx, run, "initial")
		if err != nil {
			return nil, err
		}
		bd := *initial
		bd.Key, bd.Now, bd.Moment = "batch", s.Started, nil // batches score users as they are now
		if err := svc.DatasetDelete(ctx, run, "batch"); err != nil {
			return nil, err
		}
		if err := s.addDataset(ctx, svc, run, &bd); err != nil {
			return nil, err
		}
		users := s.Datasets["batch"]
		s.Batches = &BatchState{From: "initial", MaxBatchSize: b.MaxBatchSize, Options: b.Options, Users: users,
			Ranges: plugin.BatchRanges(users, b.MaxBatchSize)}
		rg = &s.Batches.Ranges[0]
	default:
		s.Stages = append(s.Stages, Stage{Name: stage})
	}
	if err := svc.StageStart(ctx, run, stage); err != nil {
		return nil, err
	}
	return buildManifest(svc, run, ttl, s, stage, stage, rg, 0), nil
}

// DevDataset is where a plugin's development initial dataset is.
type DevDataset struct {
	// Status: preparing, ready, missing (never asked for) or failed.
	Status string `json:"status"`
	// Moment is the moment it is (being) made at: 0_sec, latest, 95_pct.
	Moment  string `json:"moment,omitempty"`
	Message string `json:"message,omitempty"`
}

// Statuses of a development dataset.
const (
	DevPreparing = "preparing"
	DevReady     = "ready"
	DevMissing   = "missing"
	DevFailed    = "failed"
)

// DevNotReadyError is a development manifest asked for before its initial
// dataset is ready.
type DevNotReadyError struct{ DevDataset }

func (e *DevNotReadyError) Error() string { return e.Message }

// ErrBadMoment is an initial dataset asked for at a moment other than
// 0_sec, latest and 95_pct.
var ErrBadMoment = errors.New("moment must be 0_sec, latest or 95_pct")

// ErrDevStage is a development manifest of a stage that cannot be one.
var ErrDevStage = errors.New("stage must be initial, batch, or an additional stage's name (letters, digits and _, at most 64, starting with a letter; not deploy)")

// DevDatasetStatus tells where a plugin's development initial dataset is,
// as Dev's routes answer it.
func (d *Dev) DevDatasetStatus(ctx context.Context, name string) (DevDataset, error) {
	d.mu.Lock()
	b := d.builds[name]
	d.mu.Unlock()
	if b != nil {
		select {
		case <-b.done:
			if b.err != nil {
				return DevDataset{Status: DevFailed, Moment: b.moment, Message: "the initial dataset at " + b.moment + " could not be made: " + b.err.Error() +
					" (POST initial_dataset again to retry)"}, nil
			}
		default:
			return DevDataset{Status: DevPreparing, Moment: b.moment, Message: "Dataset is still being prepared"}, nil
		}
	}
	stored, err := d.svc.DatasetGet(ctx, DevRun(name), "initial")
	if errors.Is(err, store.ErrNotFound) {
		return DevDataset{Status: DevMissing, Message: "no initial dataset was asked for: POST /api/developer/initial_dataset/{0_sec|latest|95_pct} first"}, nil
	}
	if err != nil {
		return DevDataset{}, err
	}
	return DevDataset{Status: DevReady, Moment: momentName(stored.Moment)}, nil
}

// momentName is the initial moment a stored dataset was made at.
func momentName(m *plugin.Moment) string {
	switch {
	case m == nil || m.Type == plugin.MomentLatest:
		return plugin.MomentLatest
	case m.Type == plugin.MomentPercentile:
		return fmt.Sprintf("%g_pct", m.Percent)
	}
	return fmt.Sprintf("%g_sec", m.Seconds)
}
