package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/weftdata/weft/internal/kv"
)

// Records calls one of the operators' stores: /v1/settings or /v1/secrets.
type Records struct {
	c    *Client
	name string
}

// Settings is the settings store of the server.
func (c *Client) Settings() *Records { return &Records{c, "settings"} }

// Secrets is the secrets store of the server; it never answers values.
func (c *Client) Secrets() *Records { return &Records{c, "secrets"} }

// RecordInfo is the answer to writes: the key and its fields after a
// put or patch, or the fields a delete removed.
type RecordInfo struct {
	Key     string   `json:"key"`
	Fields  []string `json:"fields"`
	Removed []string `json:"removed"`
}

func (s *Records) path(key string, fields []string) string {
	p := "/v1/" + s.name + "/" + url.PathEscape(key)
	if len(fields) > 0 {
		p += "?" + url.Values{"field": fields}.Encode()
	}
	return p
}

// List lists the keys with their field names.
func (s *Records) List(ctx context.Context) ([]kv.KeyInfo, error) {
	var out map[string][]kv.KeyInfo
	if err := s.c.do(ctx, http.MethodGet, "/v1/"+s.name, nil, nil, &out); err != nil {
		return nil, err
	}
	return out[s.name], nil
}

// Get reads a record, or some fields of it ({} when missing). For secrets
// the answer is a RecordInfo, without values.
func (s *Records) Get(ctx context.Context, key string, fields ...string) (json.RawMessage, error) {
	var out json.RawMessage
	if err := s.c.do(ctx, http.MethodGet, s.path(key, fields), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Put replaces the record.
func (s *Records) Put(ctx context.Context, key string, rec map[string]any) (*RecordInfo, error) {
	return s.write(ctx, http.MethodPut, key, rec)
}

// Patch sets the fields of rec, removing those set to nil, and keeps the
// others.
func (s *Records) Patch(ctx context.Context, key string, rec map[string]any) (*RecordInfo, error) {
	return s.write(ctx, http.MethodPatch, key, rec)
}

func (s *Records) write(ctx context.Context, method, key string, rec map[string]any) (*RecordInfo, error) {
	body, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	var out RecordInfo
	if err := s.c.do(ctx, method, s.path(key, nil), http.Header{"Content-Type": {"application/json"}}, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes the record, or only the named fields.
func (s *Records) Delete(ctx context.Context, key string, fields ...string) (*RecordInfo, error) {
	var out RecordInfo
	if err := s.c.do(ctx, http.MethodDelete, s.path(key, fields), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
