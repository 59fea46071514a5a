package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// HTTP is the http object of results.json (spec §10), merged across a
// run's stages: it makes the run deployable.
type HTTP struct {
	// Port is the port the plugin's startServerCmd names; Weft picks a
	// free loopback port instead and replaces this number in
	// StartServerCmd with it (0: none named).
	Port int `json:"port,omitempty"`
	// StatusPath answers POST with 200 when the server is healthy.
	StatusPath string `json:"statusPath"`
	// RequestPath gets every prediction request, by POST.
	RequestPath string `json:"requestPath"`
	// StartServerCmd is run with /bin/sh -c in the deploy working directory.
	StartServerCmd string `json:"startServerCmd"`
	// Options go to the deploy manifest's options.
	Options json.RawMessage `json:"options,omitempty"`
	// Explain describes the answers (explain.output.examples), shown as is.
	Explain json.RawMessage `json:"explain,omitempty"`
}

// parseHTTP type-checks one stage's http object; keys may be missing
// (another stage may give them), unknown keys are ignored.
func parseHTTP(raw json.RawMessage) (*HTTP, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("http must be a JSON object (spec §10), got %.100s", raw)
	}
	h := &HTTP{}
	if v, ok := m["port"]; ok && string(v) != "null" {
		var f float64
		if err := json.Unmarshal(v, &f); err != nil || f != math.Trunc(f) || f < 1 || f > 65535 {
			return nil, fmt.Errorf("http.port is %s: it must be a whole number from 1 to 65535", v)
		}
		h.Port = int(f)
	}
	for _, k := range []struct {
		key  string
		dst  *string
		path bool
	}{{"statusPath", &h.StatusPath, true}, {"requestPath", &h.RequestPath, true}, {"startServerCmd", &h.StartServerCmd, false}} {
		v, ok := m[k.key]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, k.dst); err != nil || strings.TrimSpace(*k.dst) == "" {
			return nil, fmt.Errorf("http.%s is %.100s: it must be a non-empty string", k.key, v)
		}
		if k.path && (!strings.HasPrefix(*k.dst, "/") || strings.ContainsAny(*k.dst, " \t\r\n?#")) {
			return nil, fmt.Errorf("http.%s is %q: it must be a path starting with / (no spaces, query or fragment)", k.key, *k.dst)
		}
	}
	if v, ok := m["options"]; ok && string(v) != "null" {
		if !strings.HasPrefix(strings.TrimSpace(string(v)), "{") {
			return nil, fmt.Errorf("http.options is %.100s: it must be a JSON object", v)
		}
		h.Options = v
	}
	if v, ok := m["explain"]; ok && string(v) != "null" {
		h.Explain = v
	}
	return h, nil
}

// MergeHTTP merges the http objects of a run's stages in order, key by
// key, the later stage winning (spec §10); nil when no stage has one. A
// merged object without statusPath, requestPath or startServerCmd is an
// error naming the missing keys.
func MergeHTTP(parts []json.RawMessage) (*HTTP, error) {
	merged := map[string]json.RawMessage{}
	for _, p := range parts {
		if len(p) == 0 || string(p) == "null" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(p, &m); err != nil {
			return nil, fmt.Errorf("http must be a JSON object: %w", err)
		}
		for k, v := range m {
			merged[k] = v
		}
	}
	if len(merged) == 0 {
		return nil, nil
	}
	raw, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	h, err := parseHTTP(raw)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, k := range []struct{ key, v string }{{"statusPath", h.StatusPath}, {"requestPath", h.RequestPath}, {"startServerCmd", h.StartServerCmd}} {
		if k.v == "" {
			missing = append(missing, k.key)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("http has no %s (merged over the stages): a deployable plugin gives statusPath, requestPath and startServerCmd", strings.Join(missing, ", "))
	}
	return h, nil
}

// DeploySpec is what deploying a successful run needs, kept with the run
// (plugin_runs.deploy) so that a server deploys it again after a restart,
// whatever job_runs has forgotten.
type DeploySpec struct {
	HTTP        HTTP           `json:"http"`
	InputParams map[string]any `json:"inputParams"`
	Metadata    map[string]any `json:"metadata"`
	// Folders maps each stage of the run to its storage folder (the
	// winning variation's for initial): the manifest's downloadUrls.
	Folders map[string]string `json:"folders"`
}

// RunDeployable records a successful run's deploy spec; call it after
// RunEnded. Every server then deploys the plugin's latest such run.
func (s *Service) RunDeployable(ctx context.Context, run string, spec *DeploySpec) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.db.Query("PluginRunDeployable"), run, string(b)); err != nil {
		return fmt.Errorf("record the deploy spec of run %s: %w", run, err)
	}
	return nil
}

// Deployable is a plugin's latest successful deployable run.
type Deployable struct {
	Plugin string
	Run    string
	Spec   *DeploySpec
}

// DeployLatest lists the latest successful deployable run of each plugin.
func (s *Service) DeployLatest(ctx context.Context) ([]Deployable, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Query("PluginDeployLatest"))
	if err != nil {
		return nil, fmt.Errorf("find deployable plugin runs: %w", err)
	}
	defer rows.Close()
	var out []Deployable
	for rows.Next() {
		var d Deployable
		var raw string
		if err := rows.Scan(&d.Plugin, &d.Run, &raw); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(raw), &d.Spec); err != nil {
			return nil, fmt.Errorf("deploy spec of run %s: %w", d.Run, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// deployManifest is the deploy stage's manifest: downloadUrls of every
// stage (freshly signed), no dataUrls or getUploadUrls, options =
// http.options.
func (s *Service) deployManifest(run string, spec *DeploySpec) *Manifest {
	m := &Manifest{Stage: "deploy", DownloadURLs: map[string]string{}, InputData: map[string]any{},
		InputParams: spec.InputParams, Metadata: spec.Metadata, Options: spec.HTTP.Options}
	for stage, folder := range spec.Folders {
		m.DownloadURLs[stage] = s.URL(KindFiles, run, folder, s.opts.URLTTL)
	}
	if m.InputParams == nil {
		m.InputParams = map[string]any{}
	}
	if len(m.Options) == 0 {
		m.Options = json.RawMessage("{}")
	}
	return m
}

// substitutePort replaces every whole number equal to from in cmd (not
// part of a longer number) with to: a startServerCmd written for a fixed
// port listens on the one Weft picked.
func substitutePort(cmd string, from, to int) string {
	if from <= 0 {
		return cmd
	}
	want := strconv.Itoa(from)
	var b strings.Builder
	for i := 0; i < len(cmd); {
		if cmd[i] < '0' || cmd[i] > '9' {
			b.WriteByte(cmd[i])
			i++
			continue
		}
		j := i
		for j < len(cmd) && cmd[j] >= '0' && cmd[j] <= '9' {
			j++
		}
		if cmd[i:j] == want {
			b.WriteString(strconv.Itoa(to))
		} else {
			b.WriteString(cmd[i:j])
		}
		i = j
	}
	return b.String()
}
