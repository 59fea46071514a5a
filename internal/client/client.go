package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Client calls one Weft server.
type Client struct {
	base   string
	apiKey string
	http   *http.Client
}

// New returns a client for the server at base (http://host:port).
func New(base, apiKey string) *Client {
	return &Client{
		base:   strings.TrimRight(base, "/"),
		apiKey: apiKey,
		http:   &http.Client{Timeout: 5 * time.Minute},
	}
}

// APIError is an error answer of the server.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether trying again may succeed.
func (e *APIError) Temporary() bool { return e.Status >= 500 || e.Status == http.StatusTooManyRequests }

func (c *Client) do(ctx context.Context, method, path string, header http.Header, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.apiKey != "" {
		req.Header.Set("x-api-key", c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			e.Error.Code, e.Error.Message = "unknown", strings.TrimSpace(string(data))
		}
		return &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte: // the answer as it came
		*o = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

// Rejection is one record the server refused.
type Rejection struct {
	Index int    `json:"index"`
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

// IngestResult is the answer to POST /v1/events.
type IngestResult struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected"`
}

// IngestBody posts one request body of records (NDJSON unless contentType
// says otherwise), optionally gzip-encoded already.
func (c *Client) IngestBody(ctx context.Context, body []byte, contentType string, gzipped bool) (*IngestResult, error) {
	h := http.Header{"Content-Type": {contentType}}
	if gzipped {
		h.Set("Content-Encoding", "gzip")
	}
	var res IngestResult
	if err := c.do(ctx, http.MethodPost, "/v1/events", h, body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// EventsParams select a page of GET /v1/events.
type EventsParams struct {
	AfterSeq int64
	Limit    int
	SourceID string
	Type     string
	Desc     bool
}

// EventsPage is a page of the log.
type EventsPage struct {
	Events       []store.Event `json:"events"`
	NextAfterSeq int64         `json:"next_after_seq"`
}

// Events reads a page of the log.
func (c *Client) Events(ctx context.Context, p EventsParams) (*EventsPage, error) {
	q := url.Values{}
	if p.AfterSeq > 0 {
		q.Set("after_seq", strconv.FormatInt(p.AfterSeq, 10))
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.SourceID != "" {
		q.Set("source_id", p.SourceID)
	}
	if p.Type != "" {
		q.Set("type", p.Type)
	}
	if p.Desc {
		q.Set("order", "desc")
	}
	var page EventsPage
	if err := c.do(ctx, http.MethodGet, "/v1/events?"+q.Encode(), nil, nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// Stats reads GET /v1/stats.
func (c *Client) Stats(ctx context.Context) (*store.Stats, error) {
	var s store.Stats
	if err := c.do(ctx, http.MethodGet, "/v1/stats", nil, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// EventTypes lists the catalog.
func (c *Client) EventTypes(ctx context.Context) ([]store.EventType, error) {
	var out struct {
		EventTypes []store.EventType `json:"event_types"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/event-types", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.EventTypes, nil
}

// Healthy reports whether GET /healthz answers.
func (c *Client) Healthy(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}
