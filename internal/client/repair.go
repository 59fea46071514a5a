package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/store"
)

// SplitEntity splits identifiers (each category:value) off an entity and
// keeps them apart from its others (POST /v1/entities/{id}/split).
func (c *Client) SplitEntity(ctx context.Context, id string, identifiers []string) (*api.Repair, error) {
	return c.repair(ctx, http.MethodPost, "/v1/entities/"+url.PathEscape(id)+"/split", map[string][]string{"identifiers": identifiers})
}

// MergeEntities merges entities into one (POST /v1/entities/merge).
func (c *Client) MergeEntities(ctx context.Context, ids []string) (*api.Repair, error) {
	return c.repair(ctx, http.MethodPost, "/v1/entities/merge", map[string][]string{"ids": ids})
}

// BlockIdentifier blocks one identifier value (POST /v1/identifiers/block).
func (c *Client) BlockIdentifier(ctx context.Context, id store.Identifier) (*api.Repair, error) {
	return c.repair(ctx, http.MethodPost, "/v1/identifiers/block", id)
}

// RemoveConstraint removes an identity constraint (DELETE
// /v1/identity/constraints/{id}).
func (c *Client) RemoveConstraint(ctx context.Context, id string) (*api.Repair, error) {
	return c.repair(ctx, http.MethodDelete, "/v1/identity/constraints/"+url.PathEscape(id), nil)
}

// Constraints lists the identity constraints, newest first (GET
// /v1/identity/constraints).
func (c *Client) Constraints(ctx context.Context) ([]store.StitchConstraint, error) {
	var out struct {
		Constraints []store.StitchConstraint `json:"constraints"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/identity/constraints", nil, nil, &out)
	return out.Constraints, err
}

// repair calls a route that repairs identity, with body as JSON (none when
// nil).
func (c *Client) repair(ctx context.Context, method, path string, body any) (*api.Repair, error) {
	var data []byte
	var h http.Header
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return nil, err
		}
		h = http.Header{"Content-Type": {"application/json"}}
	}
	var out api.Repair
	if err := c.do(ctx, method, path, h, data, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
