package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
)

// Plugin is a declared plugin (GET /v1/plugins).
type Plugin struct {
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Command     []string         `json:"command"`
	Schedule    string           `json:"schedule"`
	Job         string           `json:"job"`
	NextRunAt   *time.Time       `json:"next_run_at"`
	Goal        *plugin.GoalSpec `json:"goal"`
}

// Plugins lists the declared plugins.
func (c *Client) Plugins(ctx context.Context) ([]Plugin, error) {
	var out struct {
		Plugins []Plugin `json:"plugins"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/plugins", nil, nil, &out)
	return out.Plugins, err
}

// RunPlugin starts a run of a plugin (POST /v1/plugins/{name}/runs).
func (c *Client) RunPlugin(ctx context.Context, name string, inputParams map[string]any) (*store.JobRun, error) {
	body, err := json.Marshal(map[string]any{"inputParams": inputParams})
	if err != nil {
		return nil, err
	}
	var run store.JobRun
	if err := c.do(ctx, http.MethodPost, "/v1/plugins/"+url.PathEscape(name)+"/runs", http.Header{"Content-Type": {"application/json"}}, body, &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// PluginRuns lists runs of the declared plugins (of one when plugin is
// set), newest first.
func (c *Client) PluginRuns(ctx context.Context, plugin string, limit int) ([]store.JobRun, error) {
	var out struct {
		Runs []store.JobRun `json:"runs"`
	}
	err := c.list(ctx, "/v1/plugins/runs", limit, &out, "plugin", plugin)
	return out.Runs, err
}

// PluginRun reads a plugin run (GET /v1/plugins/runs/{id}) as JSON.
func (c *Client) PluginRun(ctx context.Context, id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, http.MethodGet, "/v1/plugins/runs/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// PluginManifest makes a development manifest of a stage (initial or
// batch); results, optional, is the initial stage's results.json.
func (c *Client) PluginManifest(ctx context.Context, name, stage string, inputParams map[string]any, results json.RawMessage) (json.RawMessage, error) {
	body, err := json.Marshal(map[string]any{"inputParams": inputParams, "results": results})
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = c.do(ctx, http.MethodPost, "/v1/plugins/"+url.PathEscape(name)+"/manifest?stage="+url.QueryEscape(stage),
		http.Header{"Content-Type": {"application/json"}}, body, &out)
	return out, err
}

// PluginPredict posts a prediction request (a JSON body) to a plugin's
// deployment (POST /v1/plugins/{name}/predict) and returns the answer of
// its server as it came. A non-2xx answer is an *APIError.
func (c *Client) PluginPredict(ctx context.Context, name string, body []byte) ([]byte, error) {
	var out []byte
	err := c.do(ctx, http.MethodPost, "/v1/plugins/"+url.PathEscape(name)+"/predict",
		http.Header{"Content-Type": {"application/json"}}, body, &out)
	return out, err
}
