package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math/rand/v2"
	"os/exec"
	"strings"
	"time"

	"github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	"github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/proto"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/client"
)

// DeliveryOpts describe the delivery benchmark: a platform at URL gets
// Users customers with a favourite category, Items items of which some
// engage far better, and Impressions logged impressions with clicks; then
// a separate load process (LoadCommand, with the phase's LoadOpts as JSON
// appended) sends /deliver requests of each size in Insertions.
type DeliveryOpts struct {
	URL         string
	APIKey      string
	Users       int
	Items       int
	Impressions int
	Insertions  []int
	Duration    time.Duration
	Concurrency int
	// Rate is the fixed rate of the latency phases (requests/s).
	Rate        int
	Seed        uint64
	LoadCommand []string
	Progress    func(string)
}

// DeliveryReport is the setup time and each load phase.
type DeliveryReport struct {
	Users, Items, Impressions int
	Setup                     time.Duration
	Phases                    []*LoadReport
}

func (r *DeliveryReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "delivery: %d users (favourite categories), %d items, %d logged impressions with clicks; setup %.1f s",
		r.Users, r.Items, r.Impressions, r.Setup.Seconds())
	for _, p := range r.Phases {
		b.WriteString("\n")
		b.WriteString(p.String())
	}
	return b.String()
}

// benchDeliveryConfig stitches the bench's view events by user and
// anonymous id (the categories the delivery identifiers default to),
// computes each user's favourite category and ranks by it.
const benchDeliveryConfig = `
stitching:
  rules:
    - {identifier: user_id, event: shop/view, value_expression: "payload->>'user_id'"}
    - {identifier: anon_user_id, event: shop/view, value_expression: "payload->>'anon_id'"}
attributes:
  - {id: favorite_category, type: most_frequent, sources: [shop], types: [view], value: "payload->>'category'"}
delivery:
  refresh: 30s
  use_cases:
    default:
      rules:
        - {item: category, attribute: favorite_category}
`

// Delivery loads the bench data into the platform and runs the phases.
func Delivery(ctx context.Context, o DeliveryOpts) (*DeliveryReport, error) {
	c := client.New(o.URL, o.APIKey)
	r := &DeliveryReport{Users: o.Users, Items: o.Items, Impressions: o.Impressions}
	start := time.Now()
	if err := setupDelivery(ctx, c, o); err != nil {
		return nil, err
	}
	r.Setup = time.Since(start)
	for _, n := range o.Insertions {
		for _, rate := range []int{0, o.Rate} {
			o.Progress(fmt.Sprintf("load: %d insertions per request, rate %d", n, rate))
			p, err := runLoad(ctx, o, LoadOpts{
				URL: o.URL, APIKey: o.APIKey, Insertions: n, Users: o.Users, Items: o.Items,
				Duration: o.Duration, Concurrency: o.Concurrency, Rate: rate, Seed: o.Seed,
			})
			if err != nil {
				return nil, err
			}
			r.Phases = append(r.Phases, p)
		}
	}
	return r, nil
}

func setupDelivery(ctx context.Context, c *client.Client, o DeliveryOpts) error {
	o.Progress("apply the bench config")
	if _, err := c.ApplyConfig(ctx, []byte(benchDeliveryConfig)); err != nil {
		return err
	}
	o.Progress(fmt.Sprintf("ingest %d views", 5*o.Users))
	sum, err := c.IngestStream(ctx, benchViews(o), client.IngestOpts{BatchSize: 10_000})
	if err != nil {
		return err
	}
	if sum.Rejected > 0 {
		return fmt.Errorf("the bench's views were rejected: %+v", sum.FirstRejections)
	}
	o.Progress("stitch and calculate attributes")
	if _, err := c.Stitch(ctx, false); err != nil {
		return err
	}
	if _, err := c.CalculateAttributes(ctx, attr.RunOptions{}); err != nil {
		return err
	}
	o.Progress(fmt.Sprintf("log %d impressions and their clicks", o.Impressions))
	if err := logEngagement(ctx, c, o); err != nil {
		return err
	}
	o.Progress("wait for the ranking state")
	return waitRanked(ctx, c)
}

// waitRanked asks for introspection until the ranking state knows the
// first user and the engagement of the first item (an engaging one).
func waitRanked(ctx context.Context, c *client.Client) error {
	req := &pb.Request{
		UserInfo:  &common.UserInfo{UserId: benchUser(0), AnonUserId: benchAnon(0)},
		Insertion: []*pb.Insertion{{ContentId: benchItem(0)}},
	}
	return WaitRanked(ctx, c, req, 2*time.Minute)
}

// WaitRanked sends req (in a paging context of its own, one insertion
// per page) with introspection until the ranking state knows
// its user and the engagement of its first insertion (a logged one): the
// background refresh has caught up with what was loaded.
func WaitRanked(ctx context.Context, c *client.Client, req *pb.Request, limit time.Duration) error {
	// A paging context of its own: the pages served while waiting must not
	// pin the positions req's context will be served at.
	req = proto.Clone(req).(*pb.Request)
	req.Paging = &pb.Paging{PagingId: fmt.Sprintf("wait-%d", time.Now().UnixNano()), Size: 1}
	deadline := time.Now().Add(limit)
	for {
		_, intro, err := c.Deliver(ctx, req, true)
		if err != nil {
			return err
		}
		if intro.Entity != "" && len(intro.Insertions) > 0 && intro.Insertions[0].Parts.Engagement != 0.5 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the ranking state did not load the user and the engagement in %s: %+v", limit, intro)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// benchViews are five views per user, three of them in the user's
// favourite category.
func benchViews(o DeliveryOpts) iter.Seq2[client.Record, error] {
	return func(yield func(client.Record, error) bool) {
		rng := rand.New(rand.NewPCG(o.Seed, 11))
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for u := range o.Users {
			for k := range 5 {
				cat := u % benchCategories
				if k >= 3 {
					cat = rng.IntN(benchCategories)
				}
				rec := map[string]any{
					"id": fmt.Sprintf("view-%d-%d", u, k), "source_id": "shop", "type": "view", "version": "1",
					"event_time": t0.Add(time.Duration(u*5+k) * time.Second).Format(time.RFC3339),
					"payload":    map[string]any{"user_id": benchUser(u), "anon_id": benchAnon(u), "category": "cat-" + fmt.Sprint(cat)},
				}
				b, err := json.Marshal(rec)
				if !yield(client.Record{Data: b, Origin: client.Origin{File: "views", Element: u*5 + k}}, err) {
					return
				}
			}
		}
	}
}

// logEngagement posts impressions of random items to /log, with a click
// on 20% of the impressions of every tenth item and 1% of the others.
func logEngagement(ctx context.Context, c *client.Client, o DeliveryOpts) error {
	rng := rand.New(rand.NewPCG(o.Seed, 13))
	const perRequest = 2000
	for sent := 0; sent < o.Impressions; sent += perRequest {
		lr := &event.LogRequest{}
		for i := sent; i < min(sent+perRequest, o.Impressions); i++ {
			u, item := rng.IntN(o.Users), rng.IntN(o.Items)
			user := &common.UserInfo{UserId: benchUser(u), AnonUserId: benchAnon(u)}
			id := fmt.Sprintf("imp-%d", i)
			lr.Impression = append(lr.Impression, &event.Impression{ImpressionId: id, ContentId: benchItem(item), UserInfo: user})
			rate := 0.01
			if item%10 == 0 {
				rate = 0.2
			}
			if rng.Float64() < rate {
				lr.Action = append(lr.Action, &event.Action{ActionId: "act-" + id, ImpressionId: id, ContentId: benchItem(item),
					ActionType: event.ActionType_NAVIGATE, UserInfo: user})
			}
		}
		if err := c.Log(ctx, lr); err != nil {
			return err
		}
	}
	return nil
}

// runLoad runs one phase in the load process and reads its report.
func runLoad(ctx context.Context, o DeliveryOpts, lo LoadOpts) (*LoadReport, error) {
	arg, err := json.Marshal(lo)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, o.LoadCommand[0], append(o.LoadCommand[1:], string(arg))...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("load process: %w: %s", err, stderr.Bytes())
	}
	return decodeLoadReport(out)
}
