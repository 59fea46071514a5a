package client

import (
	"context"
	"time"

	"github.com/weftdata/weft/internal/trackplan"
)

// TrackingPlanViolations reads GET /v1/tracking-plan/violations: counts of
// eventType ("" for all; source/type for every version) since then (zero:
// all kept) and the newest examples, at most limit (0: the server's
// default).
func (c *Client) TrackingPlanViolations(ctx context.Context, eventType string, since time.Time, limit int) (*trackplan.Report, error) {
	var out trackplan.Report
	sinceParam := ""
	if !since.IsZero() {
		sinceParam = since.UTC().Format(time.RFC3339Nano)
	}
	err := c.list(ctx, "/v1/tracking-plan/violations", limit, &out, "type", eventType, "since", sinceParam)
	return &out, err
}
