package pluginrun

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// deployHTTP merges the http objects of the run's stages (initial, then
// the additional stages by name; the later wins per key): nil when the
// run is not deployable. An incomplete one fails the last stage that
// gave http as Invalid results, before any batch runs.
func (s *State) deployHTTP() (*plugin.HTTP, error) {
	var parts []json.RawMessage
	last := ""
	for _, st := range s.Stages {
		if len(st.HTTP) > 0 {
			parts, last = append(parts, st.HTTP), st.Name
		}
	}
	h, err := plugin.MergeHTTP(parts)
	if err != nil {
		return nil, invalid(last, err.Error())
	}
	return h, nil
}

// recordDeployable keeps a deployable run's deploy spec with the run:
// every server then deploys it (plugin.Deployer). The manifest's
// inputParams and metadata are the stages' (the winning variation's
// inputParams), downloadUrls cover every stage, initial being the
// winning variation's folder.
func (j *Job) recordDeployable(ctx context.Context, s *State) error {
	h, err := s.deployHTTP()
	if err != nil || h == nil {
		return err
	}
	m := j.manifest(s, "deploy", "deploy", nil, 0)
	spec := &plugin.DeploySpec{HTTP: *h, InputParams: m.InputParams, Metadata: m.Metadata, Folders: map[string]string{}}
	for _, st := range s.Stages {
		spec.Folders[st.Name] = s.scope(st.Name)
	}
	j.inv.Log.Info("the run is deployable", "start_server_cmd", h.StartServerCmd, "status_path", h.StatusPath, "request_path", h.RequestPath)
	return j.d.Plugins.RunDeployable(ctx, j.inv.RunID, spec)
}

// RunNotifier stores a notification of a run (jobrunner.Runner's Notify).
type RunNotifier interface {
	Notify(ctx context.Context, note job.Notification, run *store.JobRun) error
}

// RunGetter reads a job run (the store).
type RunGetter interface {
	JobRunGet(ctx context.Context, id string) (*store.JobRun, error)
}

// NotifyDeployFailed is plugin.DeployOptions.Failed: an error
// notification in the activity log, under the plugin's activity as its
// runs' are, naming the run and why its deployment failed. The
// notification is linked to the run when the run is known.
func NotifyDeployFailed(n RunNotifier, runs RunGetter, log *slog.Logger) func(context.Context, plugin.DeploymentStatus) {
	return func(ctx context.Context, st plugin.DeploymentStatus) {
		run, err := runs.JobRunGet(ctx, st.Run)
		if err != nil {
			run = nil // a run of another process's store, or gone: the notification stands alone
		}
		note := job.Notification{Level: job.LevelError, Activity: "Plugin " + st.Plugin, Title: "Plugin deployment failed",
			Summary: fmt.Sprintf("the deployment of run %s failed: %s", st.Run, st.LastError)}
		if err := n.Notify(ctx, note, run); err != nil {
			log.Error("plugin deployment failed: no notification", "plugin", st.Plugin, "run", st.Run, "error", err)
		}
	}
}
