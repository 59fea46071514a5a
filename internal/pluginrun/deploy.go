package pluginrun

import (
	"context"
	"encoding/json"

	"github.com/weftdata/weft/internal/plugin"
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
