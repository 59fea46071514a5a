package delivery_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/sdk/delivery"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/types/known/structpb"
)

// weft is a real Weft server in process, on a fresh embedded store, with a
// weft.yaml in force: what weft serve --config weft.yaml would be.
type weft struct {
	*server.Server
	api  *client.Client
	data string
}

func startWeft(weftYAML string) *weft {
	data, err := os.MkdirTemp("", "weft-sdk-example-")
	if err != nil {
		log.Fatal(err)
	}
	// As weft serve --config weft.yaml: in force before anything runs.
	config := filepath.Join(data, "weft.yaml")
	if err := os.WriteFile(config, []byte(weftYAML), 0o644); err != nil {
		log.Fatal(err)
	}
	s, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: data, ConfigFile: config,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	return &weft{Server: s, api: client.New(s.URL(), ""), data: data}
}

func (w *weft) stop() {
	w.Shutdown()
	os.RemoveAll(w.data)
}

// Impressions and actions are logged through the Metrics API (POST /log);
// Weft keeps each record as an event of source delivery, which stitching
// links to the user and ranking counts as engagement of the content.
func ExamplePromotedMetricsAPI_RunMetricsLogging() {
	w := startWeft("stitching: {rules: []}")
	defer w.stop()

	metrics := delivery.NewPromotedMetricsAPI(w.URL()+"/log", "metrics-key", 2000)
	err := metrics.RunMetricsLogging(&ev.LogRequest{
		UserInfo: &cm.UserInfo{UserId: "u1", AnonUserId: "anon-1"},
		// What was shown: the insertion ids come from the Deliver response.
		Impression: []*ev.Impression{
			{ImpressionId: "imp-1", InsertionId: "ins-1", ContentId: "SKU-1"},
			{ImpressionId: "imp-2", InsertionId: "ins-2", ContentId: "SKU-2"},
		},
		// What the user did with it.
		Action: []*ev.Action{
			{ActionId: "act-1", ImpressionId: "imp-1", ContentId: "SKU-1", ActionType: ev.ActionType_NAVIGATE},
			{ActionId: "act-2", ImpressionId: "imp-1", ContentId: "SKU-1", ActionType: ev.ActionType_ADD_TO_CART},
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	page, err := w.api.Events(context.Background(), client.EventsParams{SourceID: "delivery", Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range page.Events {
		fmt.Println(e.SourceID+"/"+e.Type, e.ID)
	}
	// Output:
	// delivery/impression delivery/impression/imp-1
	// delivery/impression delivery/impression/imp-2
	// delivery/action delivery/action/act-1
	// delivery/action delivery/action/act-2
}

// Insertion properties are what ranking rules compare with what Weft knows
// of the user: here the rule favorite gives an insertion whose category is
// the user's favorite_category attribute 1 more point.
func Example_insertionProperties() {
	w := startWeft(`
stitching:
  rules:
    - {identifier: user_id, event: shop/page_view, value_expression: "payload->>'user_id'"}
attributes:
  - {id: favorite_category, type: most_frequent, types: [page_view], value: "payload->>'category'"}
delivery:
  refresh: 100ms
  use_cases:
    default:
      rules:
        - {name: favorite, item: category, attribute: favorite_category}
`)
	defer w.stop()
	ctx := context.Background()
	// u1 browsed bags: stitch and calculate now rather than waiting.
	events := `{"source_id": "shop", "type": "page_view", "version": "1-0-0", "event_time": "2026-03-01T09:00:00Z", "payload": {"user_id": "u1", "category": "bags"}}`
	if _, err := w.api.IngestBody(ctx, []byte(events), "application/x-ndjson", false); err != nil {
		log.Fatal(err)
	}
	if _, err := w.api.Stitch(ctx, false); err != nil {
		log.Fatal(err)
	}
	if _, err := w.api.CalculateAttributes(ctx, attr.RunOptions{}); err != nil {
		log.Fatal(err)
	}

	c, err := delivery.NewPromotedDeliveryClientBuilder().
		WithDeliveryEndpoint(w.URL()).
		WithMetricsEndpoint(w.URL() + "/log").
		Build()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	// The ranking state is reloaded every delivery.refresh: ask until it
	// knows u1 (a loaded machine may take a while). Each ask is a page view
	// of its own, with a paging id of its own: the same request with the
	// same paging key is served the ranking it got first, for paging.ttl.
	var resp *delivery.DeliveryResponse
	deadline := time.Now().Add(3 * time.Minute)
	for view := 0; time.Now().Before(deadline); view++ {
		if view > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		req := categoryRequest("u1")
		req.Paging = &pb.Paging{PagingId: fmt.Sprintf("view-%d", view)}
		if resp, err = c.Deliver(&delivery.DeliveryRequest{Request: req}); err != nil {
			log.Fatal(err)
		}
		if resp.Response.Insertion[0].ContentId == "p2" {
			break
		}
	}
	for _, ins := range resp.Response.Insertion {
		fmt.Println(ins.GetPosition(), ins.ContentId)
	}
	// Output:
	// 0 p2
	// 1 p1
	// 2 p3
}

// categoryRequest asks to rank three products of different categories for
// the user.
func categoryRequest(user string) *pb.Request {
	req := &pb.Request{UserInfo: &cm.UserInfo{UserId: user}}
	for _, p := range []struct{ id, category string }{{"p1", "shoes"}, {"p2", "bags"}, {"p3", "socks"}} {
		props, err := structpb.NewStruct(map[string]any{"category": p.category})
		if err != nil {
			log.Fatal(err)
		}
		req.Insertion = append(req.Insertion, &pb.Insertion{ContentId: p.id,
			Properties: &cm.Properties{StructField: &cm.Properties_Struct{Struct: props}}})
	}
	return req
}
