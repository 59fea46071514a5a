package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/consent"
	"github.com/weftdata/weft/internal/delivery"
	"github.com/weftdata/weft/internal/delivery/deliverytest"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/rank"
	"github.com/weftdata/weft/internal/store"
)

type deliveryServer struct {
	*testServer
	pipe   *pipeline.Pipeline
	ranker *rank.Ranker
}

// newDeliveryServer serves the API with the Delivery and Metrics APIs,
// their background writer running, and the weft.yaml doc applied.
func newDeliveryServer(t *testing.T, backend, doc string, cfg api.Config) *deliveryServer {
	t.Helper()
	st := openStore(t, backend)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pipe, err := pipeline.New(context.Background(), st, pipeline.Options{StitchInterval: -1, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if doc != "" {
		if _, err := pipe.Apply(context.Background(), []byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	in := event.NewIngester(st, nil)
	// The real ranker: with no engagement logged and no rules, retrieval
	// ranks decide.
	ranker := rank.New(rank.Options{DB: st, Logger: logger, Delivery: func(ctx context.Context) (*rank.Delivery, error) {
		_, c, err := pipe.Config(ctx)
		if c == nil {
			return nil, err
		}
		return &c.Delivery, err
	}, Consent: func(ctx context.Context) (consent.Config, error) {
		_, c, err := pipe.Config(ctx)
		if c == nil {
			return nil, err
		}
		return c.Consent, err
	}})
	if err := ranker.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc := delivery.New(delivery.Options{Ingester: in, Ranker: ranker, Logger: logger})
	pipe.Watch(svc.SetConfig)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	cfg.Pipeline, cfg.Ingester, cfg.Delivery = pipe, in, svc
	return &deliveryServer{testServer: newServerOn(t, st, cfg), pipe: pipe, ranker: ranker}
}

// goRequest is a request as the Go SDK builds it.
func goRequest(n int, size, offset int32) *pb.Request {
	req := &pb.Request{
		UserInfo:        &cm.UserInfo{AnonUserId: "anon-1", UserId: "user-1"},
		Timing:          &cm.Timing{ClientLogTimestamp: 1767323045000},
		ClientInfo:      &cm.ClientInfo{ClientType: cm.ClientInfo_PLATFORM_SERVER, TrafficType: cm.ClientInfo_PRODUCTION},
		ClientRequestId: "client-req-1",
		UseCase:         pb.UseCase_SEARCH,
		SearchQuery:     "shoes",
		Paging:          &pb.Paging{Size: size, Starting: &pb.Paging_Offset{Offset: offset}},
	}
	for i := 0; i < n; i++ {
		r := uint64(n - i) // the last insertion ranks first
		req.Insertion = append(req.Insertion, &pb.Insertion{ContentId: fmt.Sprintf("c%d", i), RetrievalRank: &r})
	}
	req.Insertion[0].InsertionId = "mine-0"
	return req
}

// parseStrict parses an answer as the Go client does: strict protojson,
// no unknown fields, a requestId required.
func parseStrict(t *testing.T, r response) *pb.Response {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	body := r.body
	if r.header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := deliverytest.ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func contentAt(resp *pb.Response) string {
	var parts []string
	for _, in := range resp.Insertion {
		parts = append(parts, fmt.Sprintf("%s@%d", in.ContentId, in.GetPosition()))
	}
	return strings.Join(parts, " ")
}

func TestDeliverGoClient(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := newDeliveryServer(t, backend, "", api.Config{})
			req := goRequest(10, 3, 0)
			req.RequestId = "sdk-set" // shadow requests carry the SDK's
			body, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			headers := map[string]string{"Content-Type": "application/json"}
			resp := parseStrict(t, s.do(t, "POST", "/deliver", headers, body))
			if resp.RequestId == "sdk-set" || contentAt(resp) != "c9@0 c8@1 c7@2" || resp.PagingInfo.GetCursor() != "3" || resp.PagingInfo.GetPagingId() == "" {
				t.Fatalf("response %v", resp)
			}
			// The next two pages by cursor: nothing twice, the cursor moves on.
			seen := map[string]bool{}
			for _, in := range resp.Insertion {
				seen[in.ContentId] = true
			}
			cursor := resp.PagingInfo.Cursor
			for p := 2; p <= 3; p++ {
				req.Paging = &pb.Paging{Size: 3, PagingId: resp.PagingInfo.PagingId, Starting: &pb.Paging_Cursor{Cursor: cursor}}
				body, _ = json.Marshal(req)
				next := parseStrict(t, s.do(t, "POST", "/deliver", headers, body))
				for _, in := range next.Insertion {
					if seen[in.ContentId] {
						t.Fatalf("page %d repeats %s: %s", p, in.ContentId, contentAt(next))
					}
					seen[in.ContentId] = true
				}
				if want := fmt.Sprint(3 * p); next.PagingInfo.GetCursor() != want || len(next.Insertion) != 3 {
					t.Fatalf("page %d: %s, cursor %s", p, contentAt(next), next.PagingInfo.GetCursor())
				}
				cursor = next.PagingInfo.Cursor
			}
			// A page asked again is the same; the passed-through insertion
			// id comes back on the last page.
			req.Paging = &pb.Paging{Size: 3, Starting: &pb.Paging_Offset{Offset: 0}}
			body, _ = json.Marshal(req)
			if again := parseStrict(t, s.do(t, "POST", "/deliver", headers, body)); contentAt(again) != contentAt(resp) {
				t.Fatalf("page 1 again: %s, first %s", contentAt(again), contentAt(resp))
			}
			req.Paging = &pb.Paging{Size: 5, Starting: &pb.Paging_Offset{Offset: 9}}
			body, _ = json.Marshal(req)
			last := parseStrict(t, s.do(t, "POST", "/deliver", headers, body))
			if contentAt(last) != "c0@9" || last.Insertion[0].InsertionId != "mine-0" {
				t.Fatalf("last page %v", last)
			}
			// Every delivery is logged in the background.
			logs := waitForEvents(t, s.store, "delivery_log", 5)
			if !strings.Contains(compact(t, logs[0].Payload), `"executionServer":"API"`) || logs[0].ID != "delivery/delivery_log/"+resp.RequestId {
				t.Errorf("delivery log %s %s", logs[0].ID, logs[0].Payload)
			}
		})
	}
}

// compact drops the white space PostgreSQL's jsonb adds.
func compact(t *testing.T, payload []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, payload); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func waitForEvents(t *testing.T, st store.Store, typ string, n int) []store.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, err := st.EventList(context.Background(), &store.EventListParams{SourceID: "delivery", Type: typ, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) >= n || time.Now().After(deadline) {
			if len(events) != n {
				t.Fatalf("%d %s events, want %d", len(events), typ, n)
			}
			return events
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeliverCanonicalAndPython sends canonical JSON gzipped, asks for a
// gzipped answer and introspection, then a Python-style body.
func TestDeliverCanonicalAndPython(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := newDeliveryServer(t, backend, "", api.Config{})
			body, err := protojson.Marshal(goRequest(4, 2, 0))
			if err != nil {
				t.Fatal(err)
			}
			r := s.do(t, "POST", "/deliver", map[string]string{"Content-Encoding": "gzip", "Accept-Encoding": "gzip", "x-weft-introspection": "1"}, gzipped(t, body))
			if r.header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("answer not gzipped: %v", r.header)
			}
			resp := parseStrict(t, r)
			if contentAt(resp) != "c3@0 c2@1" {
				t.Fatalf("response %s", contentAt(resp))
			}
			var intro struct {
				UserID     string `json:"userId"`
				Insertions []struct {
					ContentID string     `json:"contentId"`
					Parts     rank.Parts `json:"parts"`
				} `json:"insertions"`
			}
			if err := json.Unmarshal([]byte(resp.GetIntrospectionData()), &intro); err != nil || intro.UserID != "user-1" || len(intro.Insertions) != 2 || math.Abs(intro.Insertions[0].Parts.Retrieval-1/math.Log2(3)) > 1e-9 || intro.Insertions[0].Parts.Engagement != 0.5 {
				t.Fatalf("introspection %q: %v", resp.GetIntrospectionData(), err)
			}
			python := `{"userInfo":{"anonUserId":"py"},"useCase":2,"clientInfo":{"clientType":1,"trafficType":1},
				"paging":{"size":2,"offset":0},"blenderConfig":{"stages":[]},"debug":true,
				"insertionMatrixHeaders":["contentId","retrievalRank","brand.name"],
				"insertionMatrix":[["p1",3,"x"],["p2",1,"y"],["p3",2,null]]}`
			resp = parseStrict(t, s.do(t, "POST", "/deliver", nil, []byte(python)))
			if contentAt(resp) != "p2@0 p3@1" || resp.IntrospectionData == nil {
				t.Fatalf("python response %v", resp)
			}
		})
	}
}

func TestDeliverErrors(t *testing.T) {
	s := newDeliveryServer(t, "duckdb", "", api.Config{})
	for _, c := range []struct{ name, body, code, msg string }{
		{"bad json", `{"insertion":[`, "invalid_request", "body: not valid JSON"},
		{"empty content", `{"insertion":[{"contentId":"a"},{"contentId":""}]}`, "invalid_request", "insertion[1].contentId: contentId is required"},
		{"wrong type", `{"paging":{"size":"ten"}}`, "invalid_request", "paging.size: want an integer of 32 bits, got ten"},
		{"bad cursor", `{"paging":{"cursor":"x"}}`, "invalid_request", `paging.cursor: "x" is not a position`},
		{"matrix row", `{"insertionMatrixHeaders":["contentId","a"],"insertionMatrix":[["x"]]}`, "invalid_request", "insertionMatrix[0]: has 1 values but there are 2 headers"},
	} {
		t.Run(c.name, func(t *testing.T) {
			expectError(t, s.do(t, "POST", "/deliver", nil, []byte(c.body)), 400, c.code, c.msg)
		})
	}
	for body, msg := range map[string]string{
		`{"impression":{}}`:                                "impression: want an array, got {}",
		`{"action":[{"actionType":"NOPE"}]}`:               `action[0].actionType: "NOPE" is not a value of ActionType`,
		`{"delivery_log":[{"request":{"insertion":[7]}}]}`: "delivery_log[0].request.insertion[0]: want an object, got 7",
	} {
		expectError(t, s.do(t, "POST", "/log", nil, []byte(body)), 400, "invalid_request", msg)
	}
	expectError(t, s.do(t, "POST", "/deliver", map[string]string{"Content-Encoding": "gzip"}, []byte("plain")), 400, "bad_request", "not valid gzip")
}

func TestDeliveryKeys(t *testing.T) {
	// delivery.api_keys win over the server's keys.
	s := newDeliveryServer(t, "duckdb", "delivery:\n  api_keys: [dk]\n", api.Config{APIKeys: []string{"sk"}})
	body := []byte(`{"insertion":[{"contentId":"a"}]}`)
	expectError(t, s.do(t, "POST", "/deliver", nil, body), 401, "unauthorized", "missing x-api-key")
	expectError(t, s.do(t, "POST", "/log", map[string]string{"x-api-key": "sk"}, []byte(`{}`)), 401, "unauthorized", "invalid x-api-key")
	parseStrict(t, s.do(t, "POST", "/deliver", map[string]string{"x-api-key": "dk"}, body))
	if r := s.do(t, "POST", "/log", map[string]string{"x-api-key": "dk"}, []byte(`{}`)); r.status != 200 || string(bytes.TrimSpace(r.body)) != "{}" {
		t.Fatalf("log answer %d %s", r.status, r.body)
	}
	// Without delivery keys the server's apply; applying config changes
	// the keys without a restart.
	if _, err := s.pipe.Apply(context.Background(), []byte("delivery: {}\n")); err != nil {
		t.Fatal(err)
	}
	expectError(t, s.do(t, "POST", "/deliver", map[string]string{"x-api-key": "dk"}, body), 401, "unauthorized", "invalid x-api-key")
	parseStrict(t, s.do(t, "POST", "/deliver", map[string]string{"x-api-key": "sk"}, body))
	if r := s.do(t, "GET", "/healthz", nil, nil); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
}

// TestMetricsGoClient logs what the Go SDK logs for a control-arm call
// (a cohort membership and an SDK delivery log) plus an impression and an
// action that name only the insertion, retries it, and stitches.
func TestMetricsGoClient(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := newDeliveryServer(t, backend, "", api.Config{})
			req := goRequest(2, 2, 0)
			req.RequestId = "sdk-req-1"
			pos0 := uint64(0)
			lr := &ev.LogRequest{
				UserInfo:         req.UserInfo,
				Timing:           req.Timing,
				ClientInfo:       req.ClientInfo,
				CohortMembership: []*ev.CohortMembership{{CohortId: "HOLD_OUT", Arm: ev.CohortArm_CONTROL}},
				DeliveryLog: []*pb.DeliveryLog{{
					Request:   req,
					Response:  &pb.Response{RequestId: "sdk-req-1", Insertion: []*pb.Insertion{{InsertionId: "ins-a", ContentId: "c1", Position: &pos0}}},
					Execution: &pb.DeliveryExecution{ExecutionServer: pb.ExecutionServer_SDK, ServerVersion: "go.1.0.0"},
				}},
				Impression: []*ev.Impression{{ImpressionId: "imp-1", InsertionId: "ins-a"}},
				Action:     []*ev.Action{{ActionId: "act-1", InsertionId: "ins-a", ActionType: ev.ActionType_NAVIGATE}},
			}
			body, err := json.Marshal(lr)
			if err != nil {
				t.Fatal(err)
			}
			for try := 0; try < 2; try++ { // the retry adds nothing
				if r := s.do(t, "POST", "/log", map[string]string{"Content-Type": "application/json"}, body); r.status != 200 || string(bytes.TrimSpace(r.body)) != "{}" {
					t.Fatalf("log answer %d %s", r.status, r.body)
				}
			}
			events, err := s.store.EventList(context.Background(), &store.EventListParams{SourceID: "delivery", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range events {
				got[e.Type] = e.ID
				if p := compact(t, e.Payload); e.Type == "action" && (!strings.Contains(p, `"contentId":"c1"`) || !strings.Contains(p, `"actionType":"NAVIGATE"`)) {
					t.Errorf("action payload %s", e.Payload)
				}
			}
			if len(events) != 4 || got["delivery_log"] != "delivery/delivery_log/sdk-req-1" || got["impression"] != "delivery/impression/imp-1" ||
				got["action"] != "delivery/action/act-1" || !strings.HasPrefix(got["cohort_membership"], "delivery/cohort_membership/") {
				t.Fatalf("events %v", got)
			}
			if _, err := s.pipe.Stitch(context.Background(), false); err != nil {
				t.Fatal(err)
			}
			byUser, err := s.store.EntityFind(context.Background(), "user_id", "user-1")
			if err != nil {
				t.Fatal(err)
			}
			byAnon, err := s.store.EntityFind(context.Background(), "anon_user_id", "anon-1")
			if err != nil || byAnon != byUser {
				t.Fatalf("user-1 is entity %s, anon-1 entity %s (%v)", byUser, byAnon, err)
			}
		})
	}
}
