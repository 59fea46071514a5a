package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/weftdata/weft/internal/delivery"
)

// Deliver asks POST /deliver to rank req. With introspect, the answer's
// introspection data is decoded too.
func (c *Client) Deliver(ctx context.Context, req *pb.Request, introspect bool) (*pb.Response, *delivery.Introspection, error) {
	body, err := protojson.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if introspect {
		h.Set("X-Weft-Introspection", "1")
	}
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodPost, "/deliver", h, body, &raw); err != nil {
		return nil, nil, err
	}
	resp := &pb.Response{}
	if err := protojson.Unmarshal(raw, resp); err != nil {
		return nil, nil, fmt.Errorf("decode answer of POST /deliver: %w", err)
	}
	if !introspect {
		return resp, nil, nil
	}
	intro := &delivery.Introspection{}
	if err := json.Unmarshal([]byte(resp.GetIntrospectionData()), intro); err != nil {
		return nil, nil, fmt.Errorf("decode introspection data: %w", err)
	}
	return resp, intro, nil
}

// Log sends a LogRequest to POST /log; its records are in the event log
// when it returns.
func (c *Client) Log(ctx context.Context, lr *ev.LogRequest) error {
	body, err := protojson.Marshal(lr)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/log", http.Header{"Content-Type": {"application/json"}}, body, nil)
}
