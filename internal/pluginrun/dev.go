package pluginrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
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
	def, ok := cfg.Plugin(p.Plugin)
	if !ok {
		return nil, fmt.Errorf("%w %q: declare it under plugins: in weft.yaml", ErrUnknownPlugin, p.Plugin)
	}
	if def.IsReport() {
		return nil, fmt.Errorf("%w: plugin %s is a report plugin (ask for stage report)", ErrNotReport, def.Name)
	}
	if p.Stage != "initial" && p.Stage != "batch" {
		return nil, fmt.Errorf("%w, not %q", ErrBadStage, p.Stage)
	}
	in, err := def.InputParams(p.Answers)
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %s: %w", ErrInvalidInput, def.Name, err)
	}
	run := DevRun(def.Name)
	if vs, _, err := def.Variations(VariationSeed(run), in); err == nil && len(vs) > 0 {
		in = withParams(in, vs[0]) // by hand, the first variation's values
	}
	now := time.Now().UTC().Truncate(time.Second)
	s := &State{Plugin: def.Name, Definition: *def, Started: now, InputParams: in, Datasets: map[string]int64{},
		Stages: []Stage{{Name: "initial"}}}
	props, err := svc.Properties(ctx)
	if err != nil {
		return nil, err
	}
	d := initialDataset(cfg, def, now, props)
	keys := []string{"initial"}
	if p.Stage == "batch" {
		keys = append(keys, "batch")
	}
	for _, key := range keys {
		d.Key = key
		if key == "batch" {
			d.Moment = nil // batches score users as they are now
		}
		if err := svc.DatasetDelete(ctx, run, key); err != nil {
			return nil, err
		}
		if err := s.addDataset(ctx, svc, run, d); err != nil {
			return nil, err
		}
	}
	ttl := svc.TTL(true)
	if p.Stage == "initial" {
		if err := svc.StageStart(ctx, run, "initial"); err != nil {
			return nil, err
		}
		return buildManifest(svc, run, ttl, s, "initial", "initial", nil, 0), nil
	}
	b := &plugin.Batches{MaxBatchSize: plugin.MaxBatchSizeDefault}
	if len(p.Results) > 0 && string(p.Results) != "null" {
		res, err := plugin.ParseResults("initial", p.Results)
		if err != nil {
			return nil, fmt.Errorf("%w: results: %w", ErrInvalidInput, err)
		}
		if res.Batches != nil {
			b = res.Batches
		}
	}
	users := s.Datasets["batch"]
	s.Batches = &BatchState{From: "initial", MaxBatchSize: b.MaxBatchSize, Options: b.Options, Users: users,
		Ranges: plugin.BatchRanges(users, b.MaxBatchSize)}
	if err := svc.StageStart(ctx, run, "batch"); err != nil {
		return nil, err
	}
	return buildManifest(svc, run, ttl, s, "batch", "batch", &s.Batches.Ranges[0], 0), nil
}
