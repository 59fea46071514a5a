package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/rank"
)

// consentYAML ranks FEED with one personal rule (the user's favourite
// category) that needs personalization consent, held by the bool
// attribute consent_personalization (the last shop/consent event).
const consentYAML = `stitching:
  rules:
    - {identifier: user_id, event: shop/purchase, value_expression: "payload->>'user'"}
    - {identifier: user_id, event: shop/consent, value_expression: "payload->>'user'"}
attributes:
  - {id: favorite_category, type: most_frequent, sources: [shop], types: [purchase], value: "payload->>'category'"}
  - {id: consent_personalization, type: last, sources: [shop], types: [consent], data_type: bool, value: "payload->>'personalization'"}
consent:
  personalization: {attribute: consent_personalization%s}
delivery:
  use_cases:
    FEED:
      rules:
        - {name: favorite, item: category, attribute: favorite_category, weight: 5}
`

func shopRecord(id, typ string, minute int, payload string) string {
	return fmt.Sprintf(`{"id":%q,"source_id":"shop","type":%q,"version":"1-0-0","event_time":"2026-01-02T10:%02d:00Z","payload":%s}`, id, typ, minute, payload)
}

// contexts numbers the request contexts of personalized.
var contexts atomic.Int64

// personalized delivers toys (first by retrieval) and books for a user
// and returns the personalization part of each, by content id.
func (s *deliveryServer) personalized(t *testing.T, user string) map[string]float64 {
	t.Helper()
	// A new search query each time: the same request context would be
	// served the pages it was first ranked into (paging_ttl).
	req := &pb.Request{UserInfo: &cm.UserInfo{UserId: user}, UseCase: pb.UseCase_FEED, SearchQuery: fmt.Sprint(contexts.Add(1)),
		ClientInfo: &cm.ClientInfo{ClientType: cm.ClientInfo_PLATFORM_SERVER, TrafficType: cm.ClientInfo_PRODUCTION}}
	for i, cat := range []string{"toys", "books"} {
		props, err := structpb.NewStruct(map[string]any{"category": cat})
		if err != nil {
			t.Fatal(err)
		}
		rk := uint64(i)
		req.Insertion = append(req.Insertion, &pb.Insertion{ContentId: cat, RetrievalRank: &rk,
			Properties: &cm.Properties{StructField: &cm.Properties_Struct{Struct: props}}})
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
	out := map[string]float64{}
	for _, in := range intro.Insertions {
		out[in.ContentID] = in.Parts.Personalization
	}
	if first := contentAt(resp); (out["books"] > 0) != strings.HasPrefix(first, "books@0") {
		t.Errorf("%s: order %s with personalization %v", user, first, out)
	}
	return out
}

// calculate ingests events, stitches them, calculates the attributes and
// refreshes the ranker.
func (s *deliveryServer) calculate(t *testing.T, events ...string) {
	t.Helper()
	if r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(events, "\n"))); r.status != 200 {
		t.Fatalf("ingest: %s", r.body)
	}
	ctx := context.Background()
	if _, err := s.pipe.Stitch(ctx, false); err != nil {
		t.Fatal(err)
	}
	res, err := s.pipe.Attributes(ctx, attr.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Attributes {
		if a.Status != "ok" {
			t.Fatalf("attribute %+v", a)
		}
	}
	if err := s.ranker.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDeliverConsent: the personal rule ranks books first for a user who
// gave personalization consent only. One who refused it, and one who said
// nothing (consent is opt-in), are ranked without personal rules, until
// they give it; missing: granted personalizes those who said nothing.
func TestDeliverConsent(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newDeliveryServer(t, backend, fmt.Sprintf(consentYAML, ""), api.Config{})
			var events []string
			for i, u := range []string{"given", "refused", "silent"} {
				events = append(events, shopRecord(u+"-p", "purchase", i, fmt.Sprintf(`{"user":%q,"category":"books"}`, u)))
			}
			events = append(events,
				shopRecord("given-c", "consent", 10, `{"user":"given","personalization":true}`),
				shopRecord("refused-c", "consent", 11, `{"user":"refused","personalization":false}`))
			s.calculate(t, events...)
			for user, want := range map[string]float64{"given": 5, "refused": 0, "silent": 0, "stranger": 0} {
				if got := s.personalized(t, user)["books"]; got != want {
					t.Errorf("%s: books personalization %v, want %v", user, got, want)
				}
			}

			// The refusing user changes their mind.
			s.calculate(t, shopRecord("refused-c2", "consent", 20, `{"user":"refused","personalization":"yes"}`))
			if got := s.personalized(t, "refused")["books"]; got != 5 {
				t.Errorf("after consent: books personalization %v, want 5", got)
			}

			// A legal basis other than consent: silence counts as given, a
			// refusal still refuses.
			if _, err := s.pipe.Apply(context.Background(), []byte(fmt.Sprintf(consentYAML, ", missing: granted"))); err != nil {
				t.Fatal(err)
			}
			s.calculate(t, shopRecord("given-c2", "consent", 21, `{"user":"given","personalization":false}`))
			for user, want := range map[string]float64{"given": 0, "refused": 5, "silent": 5} {
				if got := s.personalized(t, user)["books"]; got != want {
					t.Errorf("missing granted: %s: books personalization %v, want %v", user, got, want)
				}
			}
		})
	}
}
