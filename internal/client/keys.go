package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/keys"
)

// CreatedKey is the answer to POST /v1/keys: the key, shown this once.
type CreatedKey struct {
	keys.Key
	Secret string `json:"key"` // the key itself

}

// CreateKey creates an API key (POST /v1/keys).
func (c *Client) CreateKey(ctx context.Context, p keys.CreateParams) (*CreatedKey, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var out CreatedKey
	if err := c.do(ctx, http.MethodPost, "/v1/keys", http.Header{"Content-Type": {"application/json"}}, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Keys lists the live API keys (GET /v1/keys).
func (c *Client) Keys(ctx context.Context) ([]keys.Key, error) {
	var out struct {
		Keys []keys.Key `json:"keys"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/keys", nil, nil, &out)
	return out.Keys, err
}

// RevokeKey revokes an API key (DELETE /v1/keys/{id}).
func (c *Client) RevokeKey(ctx context.Context, id string) (*keys.Key, error) {
	var out keys.Key
	if err := c.do(ctx, http.MethodDelete, "/v1/keys/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Audit lists audit entries, newest first (GET /v1/audit); zero values
// select all.
func (c *Client) Audit(ctx context.Context, since time.Time, action string, limit int) ([]audit.Entry, error) {
	var out struct {
		Entries []audit.Entry `json:"entries"`
	}
	sinceParam := ""
	if !since.IsZero() {
		sinceParam = since.UTC().Format(time.RFC3339Nano)
	}
	err := c.list(ctx, "/v1/audit", limit, &out, "since", sinceParam, "action", action)
	return out.Entries, err
}
