package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// list reads a list route: GET path with the filters given as name, value
// pairs (an empty value leaves its filter out) and limit when positive,
// decoded into out.
func (c *Client) list(ctx context.Context, path string, limit int, out any, filters ...string) error {
	q := url.Values{}
	for i := 0; i+1 < len(filters); i += 2 {
		if filters[i+1] != "" {
			q.Set(filters[i], filters[i+1])
		}
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, nil, out)
}
