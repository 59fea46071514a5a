package pluginrun

import (
	"context"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
)

// A report plugin's run (kind report, the spec's §12) has one stage,
// ReportKey: Prepare fixes the report (its date ranges resolved at the
// start) as the run's report dataset, the stage reads it from dataUrl,
// and its results (data and visualisation) are the run's. Publish then
// ends the run as for any plugin, with nothing to publish.

// prepareReport sets up a report plugin's run state and its report.
func (j *Job) prepareReport(ctx context.Context, cfg *config.Config, def *plugin.Definition, in map[string]any, started time.Time, s *State) error {
	*s = State{Plugin: def.Name, Definition: *def, Started: started, InputParams: in, Phase: PhaseInitial,
		Datasets: map[string]int64{}, Stages: []Stage{{Name: plugin.ReportKey, Status: "pending"}}}
	d := plugin.ReportDataset(def, started, cfg.Consent.Filter(def.PurposeOrDefault()))
	if err := j.d.Plugins.DatasetCreate(ctx, j.inv.RunID, d); err != nil {
		return err
	}
	stored, err := j.d.Plugins.DatasetGet(ctx, j.inv.RunID, plugin.ReportKey) // a resumed run's, as first made
	if err != nil {
		return err
	}
	s.Report = stored.Report
	j.inv.Log.Info("report plugin run prepared", "plugin", def.Name, "format", def.Report.Format, "events", def.Report.Events)
	return nil
}

// report runs the report stage and keeps its data and visualisation.
func (j *Job) report(ctx context.Context, s *State) error {
	m := reportManifest(j.d.Plugins, j.inv.RunID, j.d.Plugins.TTL(false), s)
	res, err := j.run(ctx, &s.Definition, plugin.ReportKey, plugin.ExecParams{Report: m})
	if err != nil {
		return err
	}
	vis, err := plugin.ReportResults(res)
	if err != nil {
		return err
	}
	s.Stages[0] = Stage{Name: plugin.ReportKey, Status: plugin.StatusSucceeded, Data: res.Data, Visualization: vis}
	s.Phase = PhasePublish
	return nil
}

// reportManifest is the manifest of a report stage: the report's data
// URL, the stage's storage URLs, inputData from the declaration.
func reportManifest(svc *plugin.Service, run string, ttl time.Duration, s *State) *plugin.ReportManifest {
	in := s.InputParams
	if in == nil {
		in = map[string]any{}
	}
	return &plugin.ReportManifest{
		DataURL:      svc.URL(plugin.KindData, run, plugin.ReportKey, ttl),
		DownloadURL:  svc.URL(plugin.KindFiles, run, plugin.ReportKey, ttl),
		GetUploadURL: svc.URL(plugin.KindUploadURL, run, plugin.ReportKey, ttl),
		InputData:    s.Definition.Report.InputData(), InputParams: in}
}

// ReportManifestParams ask for a report plugin's development manifest.
type ReportManifestParams struct {
	Plugin  string
	Answers map[string]any
	// Run is the run the report and the URLs belong to; default
	// DevRun(Plugin).
	Run string
}

// ErrNotReport is a report manifest asked of a plugin that is not a
// report plugin, or a staged manifest of one that is.
var ErrNotReport = fmt.Errorf("%w: report plugins have one manifest (stage report), intelligence plugins none", ErrBadStage)

// ReportManifest makes a working manifest of a report plugin, for running
// it by hand (the spec's §13 get_manifest without a stage): the report
// made afresh at now under p.Run (default the development run), URLs
// valid for the development TTL, and uploads open for its stage.
func ReportManifest(ctx context.Context, svc *plugin.Service, cfg *config.Config, p ReportManifestParams) (*plugin.ReportManifest, error) {
	def, ok := cfg.Plugin(p.Plugin)
	if !ok {
		return nil, fmt.Errorf("%w %q: declare it under plugins: in weft.yaml", ErrUnknownPlugin, p.Plugin)
	}
	if !def.IsReport() {
		return nil, fmt.Errorf("%w: plugin %s is an intelligence plugin (ask for stage initial or batch)", ErrNotReport, def.Name)
	}
	in, err := def.InputParams(p.Answers)
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %s: %w", ErrInvalidInput, def.Name, err)
	}
	run, now := p.Run, time.Now().UTC().Truncate(time.Second)
	if run == "" {
		run = DevRun(def.Name)
	}
	if err := svc.DatasetDelete(ctx, run, plugin.ReportKey); err != nil {
		return nil, err
	}
	if err := svc.DatasetCreate(ctx, run, plugin.ReportDataset(def, now, cfg.Consent.Filter(def.PurposeOrDefault()))); err != nil {
		return nil, err
	}
	if err := svc.StageStart(ctx, run, plugin.ReportKey); err != nil {
		return nil, err
	}
	s := &State{Definition: *def, InputParams: in}
	return reportManifest(svc, run, svc.TTL(true), s), nil
}
