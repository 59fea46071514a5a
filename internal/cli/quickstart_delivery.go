package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/delivery"
	"github.com/weftdata/weft/internal/demo"
)

// demoCandidates is how many products the delivery demo ranks.
const demoCandidates = 16

// deliveryDemo logs engagement with some demo products through POST /log,
// then ranks them for the example customer's browser through POST
// /deliver and prints the page with each score's parts.
func deliveryDemo(ctx context.Context, out io.Writer, c *client.Client, example string) error {
	cat, val, _ := strings.Cut(example, ":")
	e, err := c.EntityByIdentifier(ctx, cat, val)
	if err != nil {
		return err
	}
	cookies := e.Identifiers["cookie_id"]
	if len(cookies) == 0 {
		return nil // every demo customer browses; nothing to show otherwise
	}
	products := demo.Products()[:demoCandidates]
	if err := c.Log(ctx, demoEngagement(products)); err != nil {
		return fmt.Errorf("log the demo impressions: %w", err)
	}
	req, err := demoDeliveryRequest(products, cookies[0])
	if err != nil {
		return err
	}
	// The ranking state refreshes in the background (delivery.refresh).
	if err := bench.WaitRanked(ctx, c, req, time.Minute); err != nil {
		return err
	}
	resp, intro, err := c.Deliver(ctx, req, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Ranked %d demo products for the browser %s (entity %s; favourite page category %v, bought most %v) through POST /deliver, the first page of 5:\n",
		len(products), cookies[0], intro.Entity, e.Attributes["favorite_page_category"], e.Attributes["favorite_category"])
	printDemoPage(out, resp, intro, products)
	req.DisablePersonalization = true
	resp, _, err = c.Deliver(ctx, req, true)
	if err != nil {
		return err
	}
	ids := make([]string, len(resp.Insertion))
	for i, in := range resp.Insertion {
		ids[i] = in.ContentId
	}
	fmt.Fprintf(out, "  With disablePersonalization: %s\n", strings.Join(ids, " "))
	return nil
}

// demoEngagement is 40 impressions of each product by other visitors,
// with many clicks on every fifth product and a few on the rest.
func demoEngagement(products []demo.Product) *ev.LogRequest {
	lr := &ev.LogRequest{}
	for i, p := range products {
		clicks := 2
		if i%5 == 3 {
			clicks = 16
		}
		for k := range 40 {
			id := fmt.Sprintf("quickstart-%s-%d", p.SKU, k)
			user := &cm.UserInfo{AnonUserId: fmt.Sprintf("quickstart-visitor-%d", k)}
			lr.Impression = append(lr.Impression, &ev.Impression{ImpressionId: id, ContentId: p.SKU, UserInfo: user})
			if k < clicks {
				lr.Action = append(lr.Action, &ev.Action{ActionId: "click-" + id, ImpressionId: id, ContentId: p.SKU,
					ActionType: ev.ActionType_NAVIGATE, UserInfo: user})
			}
		}
	}
	return lr
}

// demoDeliveryRequest asks for the first page of 5 of the products, in
// catalog order as retrieval ranks, each with its category and a margin.
func demoDeliveryRequest(products []demo.Product, cookie string) (*pb.Request, error) {
	req := &pb.Request{
		UserInfo: &cm.UserInfo{AnonUserId: cookie},
		UseCase:  pb.UseCase_FEED,
		Paging:   &pb.Paging{Size: 5, Starting: &pb.Paging_Offset{Offset: 0}},
	}
	for i, p := range products {
		rank := uint64(i)
		props, err := structpb.NewStruct(map[string]any{"category": p.Category, "margin": float64(i%4) / 10})
		if err != nil {
			return nil, err
		}
		req.Insertion = append(req.Insertion, &pb.Insertion{ContentId: p.SKU, RetrievalRank: &rank,
			Properties: &cm.Properties{StructField: &cm.Properties_Struct{Struct: props}}})
	}
	return req, nil
}

func printDemoPage(out io.Writer, resp *pb.Response, intro *delivery.Introspection, products []demo.Product) {
	category := map[string]string{}
	for _, p := range products {
		category[p.SKU] = p.Category
	}
	for _, in := range intro.Insertions {
		p := in.Parts
		var rules []string
		for _, r := range p.Rules {
			if r.Score != 0 {
				rules = append(rules, fmt.Sprintf("%s %.2f", r.Rule, r.Score))
			}
		}
		line := fmt.Sprintf("    %d  %s  %-10s score %.2f = retrieval %.2f + engagement %.2f + personalization %.2f %s",
			in.Position, in.ContentID, category[in.ContentID], in.Score, p.Retrieval, p.Engagement, p.Personalization, strings.Join(rules, ", "))
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(out, "  (request %s; ask again with paging.cursor %q for the next page)\n", resp.RequestId, resp.GetPagingInfo().GetCursor())
}
