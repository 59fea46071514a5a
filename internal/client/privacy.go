package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/weftdata/weft/internal/privacy"
)

// PrivacyCreate sends an OpenDSR request (POST /v1/privacy/requests).
func (c *Client) PrivacyCreate(ctx context.Context, req *privacy.Request) (*privacy.Created, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out privacy.Created
	if err := c.do(ctx, http.MethodPost, "/v1/privacy/requests", http.Header{"Content-Type": {"application/json"}}, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PrivacyStatus reads the status of a request (GET /v1/privacy/requests/{id}).
func (c *Client) PrivacyStatus(ctx context.Context, id string) (*privacy.Status, error) {
	var out privacy.Status
	if err := c.do(ctx, http.MethodGet, "/v1/privacy/requests/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PrivacyCancel cancels a pending request (DELETE /v1/privacy/requests/{id}).
func (c *Client) PrivacyCancel(ctx context.Context, id string) (*privacy.Cancelled, error) {
	var out privacy.Cancelled
	if err := c.do(ctx, http.MethodDelete, "/v1/privacy/requests/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Download copies what a signed URL of the server serves to w; the URL
// carries its own authorization, so no key is sent.
func (c *Client) Download(ctx context.Context, signedURL string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, signedURL, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return fmt.Errorf("download: server answered %s", resp.Status)
		}
		return &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
