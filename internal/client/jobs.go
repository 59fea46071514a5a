package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

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

// JobRunFilter selects runs; zero fields match all.
type JobRunFilter struct {
	Job, Status string
	// Since and Until bound the runs' creation: Since <= created < Until.
	Since, Until time.Time
	Limit        int
}

// JobRuns lists runs, newest first.
func (c *Client) JobRuns(ctx context.Context, f JobRunFilter) ([]store.JobRun, error) {
	var out struct {
		Runs []store.JobRun `json:"runs"`
	}
	err := c.list(ctx, "/v1/jobs/runs", f.Limit, &out, "job", f.Job, "status", f.Status, "since", stamp(f.Since), "until", stamp(f.Until))
	return out.Runs, err
}

// stamp writes a time as the API reads it; "" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// JobRun reads one run.
func (c *Client) JobRun(ctx context.Context, id string) (*store.JobRun, error) {
	var run store.JobRun
	if err := c.do(ctx, http.MethodGet, "/v1/jobs/runs/"+url.PathEscape(id), nil, nil, &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// JobLogFilter selects log lines of a run; zero fields match all.
type JobLogFilter struct {
	// Level is the lowest level shown; After the last line id seen.
	Level string
	After int64
	// Grep is a regular expression the message or the fields match.
	Grep string
	// Since and Until bound the lines' time: Since <= at < Until.
	Since, Until time.Time
}

// JobLogs reads a run's log lines in order.
func (c *Client) JobLogs(ctx context.Context, id string, f JobLogFilter) ([]store.JobLog, error) {
	q := url.Values{"after": {strconv.FormatInt(f.After, 10)}}
	for k, v := range map[string]string{"level": f.Level, "grep": f.Grep, "since": stamp(f.Since), "until": stamp(f.Until)} {
		if v != "" {
			q.Set(k, v)
		}
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
