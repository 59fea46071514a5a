package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// SegmentPreview is the answer of POST /v1/segments/preview.
type SegmentPreview struct {
	Count  int64 `json:"count"`
	Sample []struct {
		EntityID    string              `json:"entity_id"`
		Identifiers map[string][]string `json:"identifiers"`
		Attributes  map[string]any      `json:"attributes"`
	} `json:"sample"`
}

// PreviewSegment asks how many members a condition tree (JSON, not
// saved) has now, with a sample of them.
func (c *Client) PreviewSegment(ctx context.Context, condition json.RawMessage) (*SegmentPreview, error) {
	body, err := json.Marshal(map[string]json.RawMessage{"condition": condition})
	if err != nil {
		return nil, err
	}
	var out SegmentPreview
	if err := c.do(ctx, http.MethodPost, "/v1/segments/preview", http.Header{"Content-Type": {"application/json"}}, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
