package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/store"
)

// Promoted's userInfo.isInternalUser and the pseudonymised userId of its
// long-term logs (specs/promoted.md, the seed's UserInfo table).

// logRequest posts a LogRequest to the Metrics API.
func (s *deliveryServer) logRequest(t *testing.T, lr *ev.LogRequest) {
	t.Helper()
	body, err := json.Marshal(lr)
	if err != nil {
		t.Fatal(err)
	}
	if r := s.do(t, "POST", "/log", map[string]string{"Content-Type": "application/json"}, body); r.status != 200 {
		t.Fatalf("log: %d %s", r.status, r.body)
	}
}

// deliver posts a request to the Delivery API.
func (s *deliveryServer) deliver(t *testing.T, req *pb.Request) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	parseStrict(t, s.do(t, "POST", "/deliver", map[string]string{"Content-Type": "application/json"}, body))
}

// engaged logs an impression and an action on content for a user.
func engaged(user *cm.UserInfo, id, content string) *ev.LogRequest {
	return &ev.LogRequest{
		UserInfo:   user,
		Timing:     &cm.Timing{ClientLogTimestamp: 1767323045000},
		Impression: []*ev.Impression{{ImpressionId: "imp-" + id, ContentId: content}},
		Action:     []*ev.Action{{ActionId: "act-" + id, ContentId: content, ActionType: ev.ActionType_NAVIGATE}},
	}
}

func (s *deliveryServer) payloadOf(t *testing.T, id string) map[string]any {
	t.Helper()
	events, err := s.store.EventList(context.Background(), &store.EventListParams{SourceID: "delivery", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.ID == id {
			var p map[string]any
			if err := json.Unmarshal(e.Payload, &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("no event %s", id)
	return nil
}

// TestInternalUser: an internal user's impressions and actions do not
// count in the engagement statistics ranking reads, and every delivery
// event of theirs is marked internalUser; their API delivery logs keep
// every request insertion.
func TestInternalUser(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := newDeliveryServer(t, backend, "", api.Config{})
			ctx := context.Background()
			tester := &cm.UserInfo{UserId: "tester", AnonUserId: "anon-t", IsInternalUser: true}
			s.logRequest(t, engaged(tester, "t1", "c-internal"))
			if err := s.ranker.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if st := s.ranker.Stats(); st.Contents != 0 || st.Watermark == 0 {
				t.Fatalf("an internal user's engagement counted: %+v", st)
			}
			for _, id := range []string{"delivery/impression/imp-t1", "delivery/action/act-t1"} {
				if p := s.payloadOf(t, id); p["internalUser"] != true {
					t.Fatalf("%s is not marked: %v", id, p)
				}
			}
			s.logRequest(t, engaged(&cm.UserInfo{UserId: "user-1", AnonUserId: "anon-1"}, "u1", "c-external"))
			if err := s.ranker.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if st := s.ranker.Stats(); st.Contents != 1 {
				t.Fatalf("a user's engagement: %+v, want 1 content", st)
			}
			if p := s.payloadOf(t, "delivery/impression/imp-u1"); p["internalUser"] != nil {
				t.Fatalf("a user's impression is marked internal: %v", p)
			}

			req := goRequest(6, 2, 0)
			req.UserInfo.IsInternalUser = true
			s.deliver(t, req)
			logs := waitForEvents(t, s.store, "delivery_log", 1)
			var dl struct {
				InternalUser bool `json:"internalUser"`
				Request      struct {
					Insertion []json.RawMessage `json:"insertion"`
				} `json:"request"`
				Response struct {
					Insertion []json.RawMessage `json:"insertion"`
				} `json:"response"`
			}
			if err := json.Unmarshal(logs[0].Payload, &dl); err != nil {
				t.Fatal(err)
			}
			if !dl.InternalUser || len(dl.Request.Insertion) != 6 || len(dl.Response.Insertion) != 2 {
				t.Fatalf("an internal user's delivery log: %s", logs[0].Payload)
			}
		})
	}
}

const pseudonymConfig = `stitching:
  rules:
    - {identifier: user_id, event: web/signup, value_expression: "payload->>'user_id'"}
delivery:
  pseudonymize_user_id: true
`

// TestPseudonymizeUserID: with delivery.pseudonymize_user_id the stored
// delivery events hold a keyed hash of the userId, never the userId, and
// stitching still puts them in the user's entity, beside the user's
// events of other sources, through one link event per user.
func TestPseudonymizeUserID(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := newDeliveryServer(t, backend, pseudonymConfig, api.Config{})
			ctx := context.Background()
			s.ingestAll(t, rec("s1", "signup", 0, `{"user_id":"user-1"}`))
			user := &cm.UserInfo{UserId: "user-1", AnonUserId: "anon-1"}
			s.logRequest(t, engaged(user, "1", "c1"))
			s.deliver(t, goRequest(3, 2, 0))
			waitForEvents(t, s.store, "delivery_log", 1)
			s.logRequest(t, engaged(user, "2", "c2")) // the same user: no second link

			events, err := s.store.EventList(ctx, &store.EventListParams{SourceID: "delivery", Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			pseudonym := ""
			links := 0
			for _, e := range events {
				var p struct {
					Pseudonym string `json:"userIdPseudonym"`
					UserInfo  struct {
						UserID string `json:"userId"`
					} `json:"userInfo"`
					Request struct {
						UserInfo struct {
							UserID string `json:"userId"`
						} `json:"userInfo"`
					} `json:"request"`
				}
				if err := json.Unmarshal(e.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if pseudonym == "" {
					pseudonym = p.Pseudonym
				}
				if !strings.HasPrefix(p.Pseudonym, "p1:") || len(p.Pseudonym) != 35 || p.Pseudonym != pseudonym {
					t.Fatalf("event %s: pseudonym %q (first %q)", e.ID, p.Pseudonym, pseudonym)
				}
				if e.Type == "user_pseudonym" {
					links++
					if p.UserInfo.UserID != "user-1" || e.ID != "delivery/user_pseudonym/"+pseudonym {
						t.Fatalf("link event %s: %s", e.ID, e.Payload)
					}
					continue
				}
				if strings.Contains(string(e.Payload), "user-1") || p.UserInfo.UserID+p.Request.UserInfo.UserID != pseudonym {
					t.Fatalf("event %s keeps the userId: %s", e.ID, e.Payload)
				}
			}
			if links != 1 || len(events) != 6 {
				t.Fatalf("%d link events among %d delivery events, want 1 among 6", links, len(events))
			}

			if _, err := s.pipe.Stitch(ctx, false); err != nil {
				t.Fatal(err)
			}
			ent, err := s.store.EntityFind(ctx, "user_id", "user-1")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range [][2]string{{"user_id_pseudonym", pseudonym}, {"anon_user_id", "anon-1"}} {
				if other, err := s.store.EntityFind(ctx, c[0], c[1]); err != nil || other != ent {
					t.Fatalf("%s %s is entity %s, user-1 entity %s (%v)", c[0], c[1], other, ent, err)
				}
			}
			got := decode[struct {
				Identifiers map[string][]string `json:"identifiers"`
				EventsCount int64               `json:"events_count"`
			}](t, s.do(t, "GET", "/v1/entities/"+ent, nil, nil))
			// Every delivery event and the signup: one entity; the pseudonym
			// is not a user_id.
			if got.EventsCount != 7 || strings.Join(got.Identifiers["user_id"], ",") != "user-1" ||
				strings.Join(got.Identifiers["user_id_pseudonym"], ",") != pseudonym {
				t.Fatalf("the user's entity: %+v", got)
			}

			// Erasing the user takes the link event (the one place the
			// userId sits beside its pseudonym) and the pseudonymised logs
			// with it: they are in the user's entity.
			if _, err := erasure.Erase(ctx, s.store, []string{ent}); err != nil {
				t.Fatal(err)
			}
			for _, needle := range []string{"user-1", pseudonym} {
				var n int
				if err := s.store.QueryRowContext(ctx, `SELECT count(*) FROM event_log WHERE strpos(CAST(payload AS TEXT), $1) > 0 OR strpos(id, $1) > 0`, needle).Scan(&n); err != nil || n != 0 {
					t.Fatalf("after the erasure, %d events still hold %q (%v)", n, needle, err)
				}
			}
		})
	}
}
