package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/store"
)

// ApplyConfig sends a weft.yaml document (YAML or JSON) to PUT /v1/config.
func (c *Client) ApplyConfig(ctx context.Context, body []byte) (*pipeline.Applied, error) {
	return c.ApplyConfigWith(ctx, body, pipeline.ApplyOptions{})
}

// ApplyConfigWith is ApplyConfig with options: StitchingForward sends
// ?stitching=forward.
func (c *Client) ApplyConfigWith(ctx context.Context, body []byte, ao pipeline.ApplyOptions) (*pipeline.Applied, error) {
	ct := "application/yaml"
	if t := strings.TrimSpace(string(body)); strings.HasPrefix(t, "{") {
		ct = "application/json"
	}
	path := "/v1/config"
	if ao.StitchingForward {
		path += "?stitching=forward"
	}
	var out pipeline.Applied
	if err := c.do(ctx, http.MethodPut, path, http.Header{"Content-Type": {ct}}, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Stitch runs stitching on the server (POST /v1/stitching/run).
func (c *Client) Stitch(ctx context.Context, fromScratch bool) (*pipeline.StitchResult, error) {
	body, _ := json.Marshal(map[string]bool{"from_scratch": fromScratch})
	var out pipeline.StitchResult
	if err := c.do(ctx, http.MethodPost, "/v1/stitching/run", http.Header{"Content-Type": {"application/json"}}, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Entity reads a profile by entity id. For an id that split it returns a
// *SplitError with the profiles of the parts.
func (c *Client) Entity(ctx context.Context, id string) (*store.Entity, error) {
	var out struct {
		store.Entity
		SplitError
	}
	if err := c.do(ctx, http.MethodGet, "/v1/entities/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	if out.SplitInto != nil {
		out.SplitError.ID = out.Entity.ID
		return nil, &out.SplitError
	}
	return &out.Entity, nil
}

// SplitError is the answer for an id that split: the ids it split into
// and the profiles of the live entities they are now.
type SplitError struct {
	ID        string         `json:"-"`
	SplitInto []string       `json:"split_into"`
	Parts     []store.Entity `json:"parts"`
}

func (e *SplitError) Error() string {
	return fmt.Sprintf("entity %s split into %s", e.ID, strings.Join(e.SplitInto, ", "))
}

// EntityByIdentifier reads the profile holding category:value.
func (c *Client) EntityByIdentifier(ctx context.Context, category, value string) (*store.Entity, error) {
	var out store.Entity
	q := url.Values{"identifier": {category + ":" + value}}
	if err := c.do(ctx, http.MethodGet, "/v1/entities?"+q.Encode(), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EntityPage is a page of GET /v1/entities.
type EntityPage struct {
	Entities []store.Entity `json:"entities"`
	Next     string         `json:"next"`
}

// Entities reads a page of live entities after the id after.
func (c *Client) Entities(ctx context.Context, after string, limit int) (*EntityPage, error) {
	q := url.Values{"after": {after}, "limit": {strconv.Itoa(limit)}}
	var out EntityPage
	if err := c.do(ctx, http.MethodGet, "/v1/entities?"+q.Encode(), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EntityEventsPage is a page of GET /v1/entities/{id}/events.
type EntityEventsPage struct {
	EntityID     string        `json:"entity_id"`
	Events       []store.Event `json:"events"`
	NextAfterSeq int64         `json:"next_after_seq"`
}

// EntityEvents reads a page of an entity's events.
func (c *Client) EntityEvents(ctx context.Context, id string, afterSeq int64, limit int) (*EntityEventsPage, error) {
	q := url.Values{"after_seq": {strconv.FormatInt(afterSeq, 10)}, "limit": {strconv.Itoa(limit)}}
	var out EntityEventsPage
	if err := c.do(ctx, http.MethodGet, "/v1/entities/"+url.PathEscape(id)+"/events?"+q.Encode(), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EntityMerges reads the merges that built an entity.
func (c *Client) EntityMerges(ctx context.Context, id string) ([]store.Merge, error) {
	var out struct {
		Merges []store.Merge `json:"merges"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/entities/"+url.PathEscape(id)+"/merges", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Merges, nil
}

// CalculateAttributes runs the attribute engine (POST /v1/attributes/run).
func (c *Client) CalculateAttributes(ctx context.Context, ro attr.RunOptions) (*attr.RunResult, error) {
	body, _ := json.Marshal(ro)
	var out attr.RunResult
	if err := c.do(ctx, http.MethodPost, "/v1/attributes/run", http.Header{"Content-Type": {"application/json"}}, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RefreshContexts runs every context query now
// (POST /v1/attributes/refresh-context).
func (c *Client) RefreshContexts(ctx context.Context) (*attr.ContextRefresh, error) {
	return post[attr.ContextRefresh](ctx, c, "/v1/attributes/refresh-context")
}

// RefreshCaches counts the attribute caches again
// (POST /v1/attributes/refresh-caches).
func (c *Client) RefreshCaches(ctx context.Context) (*attr.CacheRefresh, error) {
	return post[attr.CacheRefresh](ctx, c, "/v1/attributes/refresh-caches")
}

// post sends a POST without a body and decodes the answer.
func post[T any](ctx context.Context, c *Client, path string) (*T, error) {
	var out T
	if err := c.do(ctx, http.MethodPost, path, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Attributes lists the attribute definitions with their last runs.
func (c *Client) Attributes(ctx context.Context) ([]attr.Info, error) {
	var out struct {
		Attributes []attr.Info `json:"attributes"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/attributes", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Attributes, nil
}

// AttributeValues is the answer of GET /v1/attributes/{id}/values.
type AttributeValues struct {
	ID        string `json:"id"`
	Customers int64  `json:"customers"`
	Values    []struct {
		Value any   `json:"value"`
		Count int64 `json:"count"`
	} `json:"values"`
}

// AttributeValueCounts reads an attribute's value distribution.
func (c *Client) AttributeValueCounts(ctx context.Context, id string, limit int) (*AttributeValues, error) {
	var out AttributeValues
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if err := c.do(ctx, http.MethodGet, "/v1/attributes/"+url.PathEscape(id)+"/values?"+q.Encode(), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
