package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/rank"
)

// segmentRankYAML ranks FEED with the segment vip: a boost of the
// insertions flagged vip_offer, a filter keeping those flagged
// members_only for members, and one dropping those flagged upsell for
// them.
const segmentRankYAML = `stitching:
  rules:
    - {identifier: user_id, event: shop/purchase, value_expression: "payload->>'user'"}
attributes:
  - {id: spend, type: sum, value: "(payload->>'total')::numeric"}
segments:
  - {id: vip, condition: {attribute: spend, op: ">=", value: 100}}
  - {id: others, condition: {attribute: spend, op: "<", value: 100}}
delivery:
  use_cases:
    FEED:
      rules:
        - {name: vip, item: vip_offer, segment: vip, weight: 3}
        - {item: members_only, segment: vip, filter: keep}
        - {item: upsell, segment: vip, filter: drop}
`

// segmentRanked delivers c0 to c4 (in retrieval order) to a user and
// returns the page and each served insertion's rule scores. c1 is a vip
// offer, c2 for members only, c3 an upsell, c4 says members_only: false.
func (s *deliveryServer) segmentRanked(t *testing.T, user string, disable bool) (string, map[string][]rank.RuleScore) {
	t.Helper()
	req := &pb.Request{UserInfo: &cm.UserInfo{UserId: user}, UseCase: pb.UseCase_FEED, SearchQuery: fmt.Sprint(contexts.Add(1)),
		DisablePersonalization: disable,
		ClientInfo:             &cm.ClientInfo{ClientType: cm.ClientInfo_PLATFORM_SERVER, TrafficType: cm.ClientInfo_PRODUCTION}}
	for i, props := range []map[string]any{{}, {"vip_offer": true}, {"members_only": true}, {"upsell": true}, {"members_only": false}} {
		st, err := structpb.NewStruct(props)
		if err != nil {
			t.Fatal(err)
		}
		rk := uint64(i)
		req.Insertion = append(req.Insertion, &pb.Insertion{ContentId: fmt.Sprintf("c%d", i), RetrievalRank: &rk,
			Properties: &cm.Properties{StructField: &cm.Properties_Struct{Struct: st}}})
	}
	body, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp := parseStrict(t, s.do(t, "POST", "/deliver", map[string]string{"x-weft-introspection": "1"}, body))
	var intro struct {
		Insertions []struct {
			ContentID string     `json:"contentId"`
			Parts     rank.Parts `json:"parts"`
		} `json:"insertions"`
	}
	if err := json.Unmarshal([]byte(resp.GetIntrospectionData()), &intro); err != nil {
		t.Fatal(err)
	}
	rules := map[string][]rank.RuleScore{}
	for _, in := range intro.Insertions {
		rules[in.ContentID] = in.Parts.Rules
	}
	return contentAt(resp), rules
}

// TestDeliverSegmentRules: a member of vip gets the vip offer first, the
// members-only item and no upsell; a known non-member, a stranger and the
// member with personalization disabled get the upsell and not the
// members-only item. The memberships are read with the users at each
// refresh: leaving the segment changes the answer.
func TestDeliverSegmentRules(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newDeliveryServer(t, backend, segmentRankYAML, api.Config{})
			s.calculate(t,
				shopRecord("gold-p", "purchase", 1, `{"user":"gold","total":250}`),
				shopRecord("plain-p", "purchase", 2, `{"user":"plain","total":20}`))
			ctx := context.Background()
			ids := map[string]string{}
			for _, u := range []string{"gold", "plain"} {
				id, err := s.store.EntityFind(ctx, "user_id", u)
				if err != nil {
					t.Fatal(err)
				}
				ids[u] = id
			}
			// plain is a member of others, which no rule reads.
			for _, m := range [][2]string{{"vip", ids["gold"]}, {"others", ids["plain"]}} {
				if _, err := s.store.ExecContext(ctx, `INSERT INTO segment_members VALUES ($1, $2, CURRENT_TIMESTAMP)`, m[0], m[1]); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.ranker.Refresh(ctx); err != nil {
				t.Fatal(err)
			}

			page, rules := s.segmentRanked(t, "gold", false)
			if page != "c1@0 c0@1 c2@2 c4@3" {
				t.Errorf("gold: %s, want the vip offer first, the members-only item, no upsell", page)
			}
			if got := rules["c1"]; len(got) != 1 || got[0] != (rank.RuleScore{Rule: "vip", Score: 3}) {
				t.Errorf("gold's c1 rules %v, want vip 3", got)
			}
			if got := rules["c0"]; len(got) != 1 || got[0].Score != 0 {
				t.Errorf("gold's c0 rules %v, want vip 0", got)
			}
			for _, tc := range []struct {
				user    string
				disable bool
			}{{"plain", false}, {"stranger", false}, {"gold", true}} {
				page, rules := s.segmentRanked(t, tc.user, tc.disable)
				if page != "c0@0 c1@1 c3@2 c4@3" {
					t.Errorf("%s (personalization disabled: %v): %s, want retrieval order without the members-only item", tc.user, tc.disable, page)
				}
				if tc.user == "plain" && (len(rules["c1"]) != 1 || rules["c1"][0].Score != 0) {
					t.Errorf("plain's c1 rules %v, want vip 0", rules["c1"])
				}
			}

			// gold leaves vip: at the next refresh, gold is served as plain is.
			if _, err := s.store.ExecContext(ctx, `DELETE FROM segment_members WHERE segment_id = 'vip'`); err != nil {
				t.Fatal(err)
			}
			if err := s.ranker.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if page, _ := s.segmentRanked(t, "gold", false); page != "c0@0 c1@1 c3@2 c4@3" {
				t.Errorf("gold after leaving vip: %s", page)
			}
		})
	}
}
