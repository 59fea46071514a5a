package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/weftdata/weft/internal/identitygraph"
)

// EntityGraph reads the identity graph of an entity
// (GET /v1/entities/{id}/graph).
func (c *Client) EntityGraph(ctx context.Context, id string) (*identitygraph.Graph, error) {
	var out identitygraph.Graph
	if err := c.do(ctx, http.MethodGet, "/v1/entities/"+url.PathEscape(id)+"/graph", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EntityChain reads the shortest chain of links that joins two
// identifiers (category:value) of an entity.
func (c *Client) EntityChain(ctx context.Context, id, from, to string) (*identitygraph.Path, error) {
	q := url.Values{"from": {from}, "to": {to}}
	var out identitygraph.Path
	if err := c.do(ctx, http.MethodGet, "/v1/entities/"+url.PathEscape(id)+"/graph?"+q.Encode(), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
