package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/weftdata/weft/internal/destination"
)

// Destinations lists the destinations in force (GET /v1/destinations).
func (c *Client) Destinations(ctx context.Context) ([]destination.Status, error) {
	var out struct {
		Destinations []destination.Status `json:"destinations"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/destinations", nil, nil, &out)
	return out.Destinations, err
}

// Destination reads one destination (GET /v1/destinations/{id}).
func (c *Client) Destination(ctx context.Context, id string) (*destination.Status, error) {
	var out destination.Status
	if err := c.do(ctx, http.MethodGet, "/v1/destinations/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeadLetters reads a page of a destination's dead letters after an id;
// next is the after of the next page, 0 on the last.
func (c *Client) DeadLetters(ctx context.Context, id string, after int64, limit int) (list []destination.DeadLetter, next int64, err error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		DeadLetters []destination.DeadLetter `json:"dead_letters"`
		Next        *int64                   `json:"next"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/destinations/"+url.PathEscape(id)+"/dead-letters?"+q.Encode(), nil, nil, &out); err != nil {
		return nil, 0, err
	}
	if out.Next != nil {
		next = *out.Next
	}
	return out.DeadLetters, next, nil
}

// ReplayDeadLetters sends dead letters again: the ids given, or every one
// not yet delivered when none is.
func (c *Client) ReplayDeadLetters(ctx context.Context, id string, ids []int64) (*destination.Replayed, error) {
	body, err := json.Marshal(map[string]any{"ids": ids})
	if err != nil {
		return nil, err
	}
	var out destination.Replayed
	err = c.do(ctx, http.MethodPost, "/v1/destinations/"+url.PathEscape(id)+"/dead-letters/replay",
		http.Header{"Content-Type": {"application/json"}}, body, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
