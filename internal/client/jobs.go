package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/weftdata/weft/internal/store"
)

// TriggerJob starts a run of a job with parameters (POST /v1/jobs/{job}/runs).
func (c *Client) TriggerJob(ctx context.Context, name string, params map[string]any) (*store.JobRun, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	var run store.JobRun
	if err := c.do(ctx, http.MethodPost, "/v1/jobs/"+url.PathEscape(name)+"/runs", http.Header{"Content-Type": {"application/json"}}, body, &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// JobRuns lists runs, newest first; empty filters match all.
func (c *Client) JobRuns(ctx context.Context, job, status string, limit int) ([]store.JobRun, error) {
	var out struct {
		Runs []store.JobRun `json:"runs"`
	}
	err := c.list(ctx, "/v1/jobs/runs", limit, &out, "job", job, "status", status)
	return out.Runs, err
}

// JobRun reads one run.
func (c *Client) JobRun(ctx context.Context, id string) (*store.JobRun, error) {
	var run store.JobRun
	if err := c.do(ctx, http.MethodGet, "/v1/jobs/runs/"+url.PathEscape(id), nil, nil, &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// JobLogs reads a run's log lines after a line id at level or above.
func (c *Client) JobLogs(ctx context.Context, id, level string, after int64) ([]store.JobLog, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}}
	if level != "" {
		q.Set("level", level)
	}
	var out struct {
		Logs []store.JobLog `json:"logs"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/jobs/runs/"+url.PathEscape(id)+"/logs?"+q.Encode(), nil, nil, &out)
	return out.Logs, err
}

// TerminateRun stops a run.
func (c *Client) TerminateRun(ctx context.Context, id string) (*store.JobRun, error) {
	var run store.JobRun
	if err := c.do(ctx, http.MethodPost, "/v1/jobs/runs/"+url.PathEscape(id)+"/terminate", nil, nil, &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// Notifications lists the activity log, newest first.
func (c *Client) Notifications(ctx context.Context, level, job string, limit int) ([]store.Notification, error) {
	var out struct {
		Notifications []store.Notification `json:"notifications"`
	}
	err := c.list(ctx, "/v1/notifications", limit, &out, "level", level, "job", job)
	return out.Notifications, err
}
