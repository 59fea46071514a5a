package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Segment is a segment of the config in force as GET /v1/segments and
// GET /v1/segments/{id} answer it (History from the latter only).
type Segment struct {
	ID          string             `json:"id"`
	Name        string             `json:"name,omitempty"`
	Description string             `json:"description,omitempty"`
	Condition   json.RawMessage    `json:"condition"`
	Size        int64              `json:"size"`
	Status      string             `json:"status"`
	LastRun     *store.SegmentRun  `json:"last_run"`
	History     []store.SegmentRun `json:"history,omitempty"`
}

// Segments lists the segments of the config in force.
func (c *Client) Segments(ctx context.Context) ([]Segment, error) {
	var out struct {
		Segments []Segment `json:"segments"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/segments", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Segments, nil
}

// Segment reads a segment with at most limit runs of its history (0: the
// server's default).
func (c *Client) Segment(ctx context.Context, id string, limit int) (*Segment, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out Segment
	if err := c.do(ctx, http.MethodGet, "/v1/segments/"+url.PathEscape(id)+"?"+q.Encode(), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SegmentMember is a member of a segment with the attributes asked for.
type SegmentMember struct {
	EntityID   string         `json:"entity_id"`
	EnteredAt  time.Time      `json:"entered_at"`
	Attributes map[string]any `json:"attributes"`
}

// SegmentMembersPage is a page of GET /v1/segments/{id}/members; Next,
// when not empty, is the after of the next page.
type SegmentMembersPage struct {
	Members []SegmentMember `json:"members"`
	Next    string          `json:"next,omitempty"`
}

// SegmentMembersParams select a page of a segment's members.
type SegmentMembersParams struct {
	After string
	// Limit is the page size (0: the server's default).
	Limit int
	// Attributes are the attribute ids whose values each member carries.
	Attributes []string
}

// SegmentMembers reads a page of a segment's members.
func (c *Client) SegmentMembers(ctx context.Context, id string, p SegmentMembersParams) (*SegmentMembersPage, error) {
	q := url.Values{}
	if p.After != "" {
		q.Set("after", p.After)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if len(p.Attributes) > 0 {
		q.Set("attributes", strings.Join(p.Attributes, ","))
	}
	var out SegmentMembersPage
	if err := c.do(ctx, http.MethodGet, "/v1/segments/"+url.PathEscape(id)+"/members?"+q.Encode(), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
