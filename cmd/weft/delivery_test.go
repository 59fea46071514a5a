package main_test

// End-to-end tests of the Delivery API and the Metrics API: weft serve as a
// subprocess, our Go SDK (sdk/delivery) and raw HTTP in the dialects of
// Promoted's clients as its callers, the event log read back through
// GET /v1/events.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/delivery/deliverytest"
	"github.com/weftdata/weft/sdk/delivery"
)

const (
	deliveryKey = "delivery-key" // delivery.api_keys
	adminKey    = "admin-key"    // --api-key: /v1, not /deliver
)

// deliveryConfig ranks FEED requests with one personalization rule: an
// insertion whose category is the user's favorite gets 2 (more than the
// retrieval and engagement parts together).
const deliveryConfig = `
stitching:
  rules:
    - identifier: user_id
      event: shop/view
      value_expression: payload->>'user_id'
attributes:
  - {id: favorite_category, type: most_frequent, sources: [shop], types: [view], value: "payload->>'category'"}
delivery:
  api_keys: [` + deliveryKey + `]
  refresh: 1s
  use_cases:
    FEED:
      rules:
        - {name: favorite, item: category, attribute: favorite_category, weight: 2}
`

// The candidates of every request, in retrieval order. For user u1, whose
// favorite category is shoes, the server ranks them shoes, books-a,
// books-b; the SDK keeps this order.
var (
	candidates = []struct{ id, category string }{{"books-a", "books"}, {"shoes", "shoes"}, {"books-b", "books"}}
	sdkOrder   = []string{"books-a", "shoes"}
	rankedPage = []string{"shoes", "books-a"}
)

type deliveryServer struct {
	base string
	proc *proc
	c    *client.Client // the /v1 API
	key  string         // x-api-key of /deliver and /log
}

// startDeliveryServer serves deliveryConfig on a backend, with u1's views
// stitched and favorite_category calculated, and returns once the ranker
// has picked them up.
func startDeliveryServer(t *testing.T, backend string) *deliveryServer {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "weft.yaml")
	if err := os.WriteFile(cfgPath, []byte(deliveryConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	s := &deliveryServer{base: "http://" + addr, key: deliveryKey}
	s.proc = start(t, append(serveArgs(t, backend, addr), "--config", cfgPath, "--stitch-interval", "-1s", "--api-key", adminKey)...)
	waitHealthy(t, s.base, s.proc)
	s.c = client.New(s.base, adminKey)
	ctx := context.Background()
	views := ""
	for i, cat := range []string{"shoes", "books", "shoes"} {
		views += fmt.Sprintf(`{"source_id":"shop","type":"view","version":"1","event_time":%d,"payload":{"user_id":"u1","category":%q}}`+"\n", 1767323045000+i, cat)
	}
	if res, err := s.c.IngestBody(ctx, []byte(views), "application/x-ndjson", false); err != nil || res.Accepted != 3 {
		t.Fatalf("ingest views: %+v %v", res, err)
	}
	if _, err := s.c.Stitch(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.CalculateAttributes(ctx, attr.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	// The ranker reloads every second. Each probe has a search query of
	// its own, so the paging cache does not pin an order served before.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		req := feedRequest(fmt.Sprintf("probe-%d", i))
		body, err := protojson.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp := s.deliverStrict(t, body); slices.Equal(contents(resp), rankedPage) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("the ranker did not personalize for u1 in time")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// feedRequest is a FEED request of u1 for the first page of two, as a
// caller of the SDK builds it; query keeps its paging context apart.
func feedRequest(query string) *pb.Request {
	req := &pb.Request{
		UserInfo:    &cm.UserInfo{UserId: "u1", AnonUserId: "anon-u1"},
		UseCase:     pb.UseCase_FEED,
		SearchQuery: query,
		Paging:      delivery.NewPaging(2, 0),
	}
	for _, c := range candidates {
		props, err := structpb.NewStruct(map[string]any{"category": c.category})
		if err != nil {
			panic(err)
		}
		req.Insertion = append(req.Insertion, &pb.Insertion{ContentId: c.id,
			Properties: &cm.Properties{StructField: &cm.Properties_Struct{Struct: props}}})
	}
	return req
}

func contents(resp *pb.Response) []string {
	var out []string
	for _, in := range resp.GetInsertion() {
		out = append(out, in.ContentId)
	}
	return out
}

// deliverStrict posts a body to /deliver and parses the answer as
// Promoted's Go client does (deliverytest.ParseResponse).
func (s *deliveryServer) deliverStrict(t *testing.T, body []byte) *pb.Response {
	t.Helper()
	status, _, out := httpDo(t, http.MethodPost, s.base+"/deliver", s.key, body)
	if status != http.StatusOK {
		t.Fatalf("POST /deliver %s: %d %s", body, status, out)
	}
	resp, err := deliverytest.ParseResponse(out)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// newSDKClient builds our SDK's client of the server as a user would,
// logging to the test; opts adds a row's options. The delivery timeout is
// 5 s, not 250 ms, so that a loaded test machine does not turn an API
// delivery into a fallback.
func (s *deliveryServer) newSDKClient(t *testing.T, opts func(*delivery.PromotedDeliveryClientBuilder)) *delivery.PromotedDeliveryClient {
	t.Helper()
	b := delivery.NewPromotedDeliveryClientBuilder().
		WithDeliveryEndpoint(s.base).
		WithDeliveryAPIKey(deliveryKey).
		WithMetricsEndpoint(s.base + "/log").
		WithMetricsAPIKey(deliveryKey).
		WithDeliveryTimeoutMillis(5000).
		WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil)))
	if opts != nil {
		opts(b)
	}
	c, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// events reads every delivery event of a type from GET /v1/events and
// parses each payload strictly into a new M: the payloads are canonical
// protojson.
func events[M proto.Message](t *testing.T, c *client.Client, typ string, newM func() M) map[string]M {
	t.Helper()
	out := map[string]M{}
	for after := int64(0); ; {
		page, err := c.Events(context.Background(), client.EventsParams{AfterSeq: after, Limit: 1000, SourceID: "delivery", Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 {
			return out
		}
		for _, e := range page.Events {
			m := newM()
			if err := protojson.Unmarshal(e.Payload, m); err != nil {
				t.Fatalf("event %s: payload %s is not canonical: %v", e.ID, e.Payload, err)
			}
			out[e.ID] = m
		}
		after = page.NextAfterSeq
	}
}

func deliveryLogs(t *testing.T, c *client.Client) map[string]*pb.DeliveryLog {
	return events(t, c, "delivery_log", func() *pb.DeliveryLog { return &pb.DeliveryLog{} })
}

// serverLogs waits until every API delivery made so far is in the event
// log and returns the traffic types of the server's delivery logs by
// clientRequestId. The logs are written in order, in the background, so a
// delivery made now and found in the log is the barrier.
func (s *deliveryServer) serverLogs(t *testing.T) map[string][]string {
	t.Helper()
	barrier := feedRequest("barrier")
	barrier.ClientRequestId = fmt.Sprintf("barrier-%d", time.Now().UnixNano())
	body, err := protojson.Marshal(barrier)
	if err != nil {
		t.Fatal(err)
	}
	s.deliverStrict(t, body)
	deadline := time.Now().Add(20 * time.Second)
	for {
		byClient := map[string][]string{}
		for _, l := range deliveryLogs(t, s.c) {
			if l.GetExecution().GetExecutionServer() == pb.ExecutionServer_API {
				id := l.GetRequest().GetClientRequestId()
				byClient[id] = append(byClient[id], l.GetRequest().GetClientInfo().GetTrafficType().String())
			}
		}
		if byClient[barrier.ClientRequestId] != nil {
			return byClient
		}
		if time.Now().After(deadline) {
			t.Fatal("the server's delivery log of the barrier request was not written in time")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDeliveryAgainstServe runs the Delivery API and the Metrics API of
// weft serve with our SDK, the bodies of Promoted's clients and bad bodies
// as their callers.
func TestDeliveryAgainstServe(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			s := startDeliveryServer(t, backend)
			t.Run("SDK decision table", func(t *testing.T) { testSDKDecisionTable(t, s) })
			t.Run("shadow traffic leaves production pages alone", func(t *testing.T) { testShadowPaging(t, s) })
			t.Run("Go client dialect", func(t *testing.T) { testGoClientDialect(t, s) })
			t.Run("bad bodies", func(t *testing.T) { testBadBodies(t, s) })
		})
	}
}

// testSDKDecisionTable runs every row of the SDK's decision table
// (sdk/delivery README, "What Deliver decides"): which side delivered, in
// which order, what the SDK logged to /log, and which deliveries the
// server itself logged (production or shadow).
func testSDKDecisionTable(t *testing.T, s *deliveryServer) {
	never := delivery.ApplyTreatmentCheckerFunc(func(*ev.CohortMembership) bool { return false })
	warmupLog := &lockedBuffer{}
	arm := func(cohort string, a ev.CohortArm) *ev.CohortMembership {
		return &ev.CohortMembership{CohortId: cohort, Arm: a}
	}
	rows := []struct {
		name       string
		opts       func(*delivery.PromotedDeliveryClientBuilder)
		onlyLog    bool
		experiment *ev.CohortMembership
		// around wraps Deliver (the timeout row pauses the server).
		around   func(deliver func())
		wantExec pb.ExecutionServer
		// wantAPIError matches the reason of a fallback; empty: none.
		wantAPIError string
		// wantSDKLog: a delivery log of the SDK's delivery is in the log.
		wantSDKLog bool
		// wantServer are the traffic types of the server's own delivery
		// logs of this request; nil: not checked.
		wantServer []string
		// after checks more once the client is closed.
		after func(t *testing.T)
	}{
		{name: "only-log with experiment", onlyLog: true, experiment: arm("only-log", ev.CohortArm_TREATMENT),
			wantExec: pb.ExecutionServer_SDK, wantSDKLog: true, wantServer: []string{}},
		{name: "only-log", onlyLog: true,
			wantExec: pb.ExecutionServer_SDK, wantSDKLog: true, wantServer: []string{}},
		{name: "no experiment no checker",
			wantExec: pb.ExecutionServer_API, wantServer: []string{"PRODUCTION"}},
		{name: "treatment arm", experiment: arm("treatment", ev.CohortArm_TREATMENT),
			wantExec: pb.ExecutionServer_API, wantServer: []string{"PRODUCTION"}},
		{name: "unknown arm is treatment", experiment: arm("unknown", ev.CohortArm_UNKNOWN_GROUP),
			wantExec: pb.ExecutionServer_API, wantServer: []string{"PRODUCTION"}},
		{name: "control arm", experiment: arm("control", ev.CohortArm_CONTROL),
			wantExec: pb.ExecutionServer_SDK, wantSDKLog: true, wantServer: []string{}},
		{name: "checker false decides alone", experiment: arm("checker", ev.CohortArm_TREATMENT),
			opts:     func(b *delivery.PromotedDeliveryClientBuilder) { b.WithApplyTreatmentChecker(never) },
			wantExec: pb.ExecutionServer_SDK, wantSDKLog: true, wantServer: []string{}},
		{name: "fallback on a wrong delivery key",
			opts:     func(b *delivery.PromotedDeliveryClientBuilder) { b.WithDeliveryAPIKey("wrong") },
			wantExec: pb.ExecutionServer_SDK, wantAPIError: `/deliver: 401 Unauthorized: \{"error":\{"code":"unauthorized"`, wantSDKLog: true, wantServer: []string{}},
		{name: "fallback on a closed port",
			opts: func(b *delivery.PromotedDeliveryClientBuilder) {
				b.WithDeliveryEndpoint("http://" + freeAddr(t))
			},
			wantExec: pb.ExecutionServer_SDK, wantAPIError: "connection refused", wantSDKLog: true, wantServer: []string{}},
		{name: "fallback on a timeout, treatment arm", experiment: arm("timeout", ev.CohortArm_TREATMENT),
			opts: func(b *delivery.PromotedDeliveryClientBuilder) { b.WithDeliveryTimeoutMillis(150) },
			// The server, stopped, accepts the connection (the kernel
			// does) but answers only after the SDK gave up.
			around: func(deliver func()) {
				if err := s.proc.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
				defer s.proc.cmd.Process.Signal(syscall.SIGCONT)
				waitStopped(t, s.proc.cmd.Process.Pid)
				deliver()
			},
			wantExec: pb.ExecutionServer_SDK, wantAPIError: "Client.Timeout exceeded|context deadline exceeded", wantSDKLog: true},
		{name: "shadow traffic of only-log", onlyLog: true, opts: shadow,
			wantExec: pb.ExecutionServer_SDK, wantSDKLog: true, wantServer: []string{"SHADOW"}},
		{name: "shadow traffic of the control arm", experiment: arm("shadow-control", ev.CohortArm_CONTROL), opts: shadow,
			wantExec: pb.ExecutionServer_SDK, wantSDKLog: true, wantServer: []string{"SHADOW"}},
		{name: "shadow traffic in the background", onlyLog: true,
			opts:     func(b *delivery.PromotedDeliveryClientBuilder) { b.WithShadowTrafficDeliveryRate(1) },
			wantExec: pb.ExecutionServer_SDK, wantSDKLog: true, wantServer: []string{"SHADOW"}},
		{name: "no shadow traffic on the API path", opts: shadow,
			wantExec: pb.ExecutionServer_API, wantServer: []string{"PRODUCTION"}},
		{name: "gzip answer", opts: func(b *delivery.PromotedDeliveryClientBuilder) { b.WithAcceptsGzip(true) },
			wantExec: pb.ExecutionServer_API, wantServer: []string{"PRODUCTION"}},
		{name: "warmup", opts: func(b *delivery.PromotedDeliveryClientBuilder) {
			b.WithWarmup(true).WithLogger(slog.New(slog.NewTextHandler(warmupLog, nil)))
		},
			wantExec: pb.ExecutionServer_API, wantServer: []string{"PRODUCTION"},
			after: func(t *testing.T) {
				if strings.Contains(warmupLog.String(), "warmup") {
					t.Errorf("warmup against weft serve failed: %s", warmupLog)
				}
			}},
	}
	clientIDs := make([]string, len(rows))
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			c := s.newSDKClient(t, row.opts)
			var resp *delivery.DeliveryResponse
			var err error
			deliver := func() {
				resp, err = c.Deliver(&delivery.DeliveryRequest{Request: feedRequest(row.name), OnlyLog: row.onlyLog, Experiment: row.experiment})
			}
			if row.around != nil {
				row.around(deliver)
			} else {
				deliver()
			}
			if err != nil {
				t.Fatal(err)
			}
			if cerr := c.Close(); cerr != nil { // flushes the LogRequest
				t.Fatalf("Close: %v", cerr)
			}
			clientIDs[i] = resp.ClientRequestID
			if resp.ExecutionServer != row.wantExec || resp.Response.GetRequestId() == "" || resp.ClientRequestID == "" {
				t.Fatalf("served by %v, requestId %q, clientRequestId %q", resp.ExecutionServer, resp.Response.GetRequestId(), resp.ClientRequestID)
			}
			if want := map[bool][]string{true: rankedPage, false: sdkOrder}[row.wantExec == pb.ExecutionServer_API]; !slices.Equal(contents(resp.Response), want) {
				t.Errorf("served %v, want %v", contents(resp.Response), want)
			}
			for j, in := range resp.Response.Insertion {
				if in.GetPosition() != uint64(j) || in.InsertionId == "" {
					t.Errorf("insertion %d: position %d, insertionId %q", j, in.GetPosition(), in.InsertionId)
				}
			}
			if row.wantAPIError == "" && resp.APIError != nil || row.wantAPIError != "" && (resp.APIError == nil || !regexp.MustCompile(row.wantAPIError).MatchString(resp.APIError.Error())) {
				t.Errorf("APIError %v, want %q", resp.APIError, row.wantAPIError)
			}
			checkSDKLogs(t, s.c, resp, row.experiment, row.wantSDKLog)
			if row.after != nil {
				row.after(t)
			}
		})
	}
	t.Run("server delivery logs", func(t *testing.T) {
		logs := s.serverLogs(t)
		for i, row := range rows {
			if row.wantServer != nil && clientIDs[i] != "" && !slices.Equal(logs[clientIDs[i]], row.wantServer) {
				t.Errorf("%s: the server logged deliveries %v of clientRequestId %s, want %v", row.name, logs[clientIDs[i]], clientIDs[i], row.wantServer)
			}
		}
	})
}

// checkSDKLogs checks what the SDK logged of one Deliver: its delivery log
// (when it delivered) and the experiment's cohort membership, both in the
// event log with the user, and nothing else of this request.
func checkSDKLogs(t *testing.T, c *client.Client, resp *delivery.DeliveryResponse, experiment *ev.CohortMembership, wantSDKLog bool) {
	t.Helper()
	sdkLogs := 0
	for id, l := range deliveryLogs(t, c) {
		if l.GetRequest().GetClientRequestId() != resp.ClientRequestID || l.GetExecution().GetExecutionServer() != pb.ExecutionServer_SDK {
			continue
		}
		sdkLogs++
		if id != "delivery/delivery_log/"+resp.Response.RequestId || l.GetExecution().GetServerVersion() != "go.1.0.0" ||
			l.GetRequest().GetUserInfo().GetUserId() != "u1" || l.GetRequest().GetClientInfo().GetTrafficType() != cm.ClientInfo_PRODUCTION ||
			!slices.Equal(contents(l.GetResponse()), contents(resp.Response)) || len(l.GetRequest().GetInsertion()) != len(candidates) {
			t.Errorf("SDK delivery log %s: %v", id, l)
		}
	}
	if want := map[bool]int{true: 1}[wantSDKLog]; sdkLogs != want {
		t.Errorf("%d SDK delivery logs of clientRequestId %s, want %d", sdkLogs, resp.ClientRequestID, want)
	}
	memberships := 0
	for id, m := range events(t, c, "cohort_membership", func() *ev.CohortMembership { return &ev.CohortMembership{} }) {
		if experiment == nil || m.GetCohortId() != experiment.CohortId {
			continue
		}
		memberships++
		if m.GetArm() != experiment.Arm || m.GetUserInfo().GetUserId() != "u1" || m.GetUserInfo().GetAnonUserId() != "anon-u1" {
			t.Errorf("cohort membership %s: %v", id, m)
		}
	}
	if want := map[bool]int{true: 1}[experiment != nil]; memberships != want {
		t.Errorf("%d cohort memberships, want %d", memberships, want)
	}
}

// shadow sends every request the Delivery API does not serve to it as
// shadow traffic, before Deliver returns.
func shadow(b *delivery.PromotedDeliveryClientBuilder) {
	b.WithShadowTrafficDeliveryRate(1).WithBlockingShadowTraffic(true)
}

// testShadowPaging: a shadow request shares its paging context with the
// production requests of the same user and query. A shadow page 2 sent
// before page 1 must leave the top of the ranking to the production
// page 1.
func testShadowPaging(t *testing.T, s *deliveryServer) {
	deliver := func(opts func(*delivery.PromotedDeliveryClientBuilder), dr *delivery.DeliveryRequest) *delivery.DeliveryResponse {
		c := s.newSDKClient(t, opts)
		defer c.Close()
		resp, err := c.Deliver(dr)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// Page 2 of an only-log request, sent to the server as shadow traffic.
	req := feedRequest("shadow paging")
	req.Paging = delivery.NewPaging(2, 2)
	if resp := deliver(shadow, &delivery.DeliveryRequest{Request: req, OnlyLog: true}); !slices.Equal(contents(resp.Response), []string{"books-b"}) {
		t.Fatalf("SDK page 2: %v", contents(resp.Response))
	}
	// Page 1 of the same user and query, served by the API.
	resp := deliver(nil, &delivery.DeliveryRequest{Request: feedRequest("shadow paging")})
	if resp.ExecutionServer != pb.ExecutionServer_API || !slices.Equal(contents(resp.Response), rankedPage) {
		t.Errorf("production page 1 after a shadow page 2: %v by %v, want %v", contents(resp.Response), resp.ExecutionServer, rankedPage)
	}
}

// testGoClientDialect sends what Promoted's Go client sends (encoding/json
// of the schema's generated structs, with x-api-key) and canonical proto
// JSON, and parses the answers as the Go client does.
func testGoClientDialect(t *testing.T, s *deliveryServer) {
	goJSON := func(m proto.Message) []byte {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	canonical := func(m proto.Message) []byte {
		b, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var served *pb.Insertion
	for name, encode := range map[string]func(proto.Message) []byte{"encoding/json": goJSON, "protojson": canonical} {
		t.Run(name, func(t *testing.T) {
			req := feedRequest("dialect " + name)
			req.ClientRequestId = "dialect-" + name
			req.Timing = &cm.Timing{ClientLogTimestamp: uint64(time.Now().UnixMilli())}
			req.ClientInfo = &cm.ClientInfo{ClientType: cm.ClientInfo_PLATFORM_SERVER, TrafficType: cm.ClientInfo_PRODUCTION}
			body := encode(req)
			if name == "encoding/json" && !bytes.Contains(body, []byte(`"Starting":{"Offset":0}`)) || !bytes.Contains(body, []byte("ategory")) {
				t.Fatalf("not the dialect meant: %s", body)
			}
			// Ranked by the properties sent, so they were read.
			first := s.deliverStrict(t, body)
			if !slices.Equal(contents(first), rankedPage) || first.Insertion[0].GetPosition() != 0 || first.Insertion[1].GetPosition() != 1 {
				t.Fatalf("first page %v", first)
			}
			served = first.Insertion[0]
			// The next page by the cursor, in the same dialect.
			req.Paging = &pb.Paging{Size: 2, Starting: &pb.Paging_Cursor{Cursor: first.GetPagingInfo().GetCursor()}}
			second := s.deliverStrict(t, encode(req))
			if !slices.Equal(contents(second), []string{"books-b"}) || second.Insertion[0].GetPosition() != 2 || second.RequestId == first.RequestId {
				t.Fatalf("second page %v after %v", second, first)
			}
		})
	}

	// What the Go client logs for a control-arm call, plus an impression
	// of content served above named only by its insertionId.
	req := feedRequest("dialect log")
	req.RequestId, req.ClientRequestId = "dialect-log-request", "dialect-log-client"
	lr := &ev.LogRequest{
		UserInfo:         &cm.UserInfo{UserId: "u1", AnonUserId: "anon-u1"},
		ClientInfo:       &cm.ClientInfo{ClientType: cm.ClientInfo_PLATFORM_SERVER, TrafficType: cm.ClientInfo_PRODUCTION},
		Timing:           &cm.Timing{ClientLogTimestamp: uint64(time.Now().UnixMilli())},
		CohortMembership: []*ev.CohortMembership{{MembershipId: "dialect-membership", CohortId: "dialect", Arm: ev.CohortArm_CONTROL}},
		DeliveryLog: []*pb.DeliveryLog{{
			Request:   req,
			Response:  &pb.Response{RequestId: req.RequestId, Insertion: []*pb.Insertion{{ContentId: "books-a", InsertionId: "dialect-ins", Position: proto.Uint64(0)}}},
			Execution: &pb.DeliveryExecution{ExecutionServer: pb.ExecutionServer_SDK, ServerVersion: "go.1.0.0"},
		}},
		Impression: []*ev.Impression{{ImpressionId: "dialect-impression", InsertionId: served.GetInsertionId()}},
	}
	if status, _, out := httpDo(t, http.MethodPost, s.base+"/log", deliveryKey, goJSON(lr)); status != http.StatusOK || strings.TrimSpace(string(out)) != "{}" {
		t.Fatalf("POST /log: %d %s", status, out)
	}
	dl := deliveryLogs(t, s.c)["delivery/delivery_log/dialect-log-request"]
	if dl.GetExecution().GetExecutionServer() != pb.ExecutionServer_SDK || dl.GetRequest().GetClientInfo().GetClientType() != cm.ClientInfo_PLATFORM_SERVER ||
		dl.GetRequest().GetPaging().GetOffset() != 0 || dl.GetRequest().GetPaging().GetSize() != 2 ||
		dl.GetRequest().GetInsertion()[1].GetProperties().GetStruct().GetFields()["category"].GetStringValue() != "shoes" {
		t.Errorf("delivery log %v", dl)
	}
	m := events(t, s.c, "cohort_membership", func() *ev.CohortMembership { return &ev.CohortMembership{} })["delivery/cohort_membership/dialect-membership"]
	if m.GetArm() != ev.CohortArm_CONTROL || m.GetUserInfo().GetUserId() != "u1" {
		t.Errorf("cohort membership %v", m)
	}
	imp := events(t, s.c, "impression", func() *ev.Impression { return &ev.Impression{} })["delivery/impression/dialect-impression"]
	if imp.GetContentId() != served.GetContentId() || imp.GetUserInfo().GetUserId() != "u1" {
		t.Errorf("impression %v: want the content of served insertion %s", imp, served.GetInsertionId())
	}
}

// testBadBodies checks that bad bodies and keys get the JSON error shape
// with a message naming the field as the client spelled it.
func testBadBodies(t *testing.T, s *deliveryServer) {
	valid := `{"insertion":[{"contentId":"a"}]}`
	for _, c := range []struct {
		name, path, key, body string
		status                int
		code, message         string
	}{
		{"malformed JSON", "/deliver", deliveryKey, `{"insertion":[`, 400, "invalid_request", "body: not valid JSON"},
		{"wrong type", "/deliver", deliveryKey, `{"paging":{"size":"ten"}}`, 400, "invalid_request", "paging.size: want an integer of 32 bits, got ten"},
		{"wrong type in the Go dialect", "/deliver", deliveryKey, `{"paging":{"Starting":{"Offset":"five"}}}`, 400, "invalid_request", "paging.offset: want an integer of 32 bits, got five"},
		{"empty contentId", "/deliver", deliveryKey, `{"insertion":[{"contentId":"a"},{"contentId":""}]}`, 400, "invalid_request", "insertion[1].contentId: contentId is required"},
		{"content_id a number", "/deliver", deliveryKey, `{"insertion":[{"content_id":5}]}`, 400, "invalid_request", "insertion[0].content_id: want a string, got 5"},
		{"unknown enum name", "/log", deliveryKey, `{"action":[{"actionType":"NOPE"}]}`, 400, "invalid_request", `action[0].actionType: "NOPE" is not a value of ActionType`},
		{"wrong key", "/deliver", "wrong", valid, 401, "unauthorized", "invalid x-api-key"},
		{"the server's key", "/deliver", adminKey, valid, 401, "unauthorized", "invalid x-api-key"},
		{"no key", "/log", "", `{}`, 401, "unauthorized", "missing x-api-key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, header, out := httpDo(t, http.MethodPost, s.base+c.path, c.key, []byte(c.body))
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(out, &e); err != nil || status != c.status || header.Get("Content-Type") != "application/json" ||
				e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.message) {
				t.Errorf("POST %s %s: %d %s %s, want %d %s %q", c.path, c.body, status, header.Get("Content-Type"), out, c.status, c.code, c.message)
			}
		})
	}
}

// TestDeliverySDKReadmeFlow follows "Full flow against weft serve" of
// sdk/delivery/README.md as written: its weft serve command (on a free
// port instead of 7700) and its Go program, run with go run.
func TestDeliverySDKReadmeFlow(t *testing.T) {
	readme, err := os.ReadFile("../../sdk/delivery/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## Full flow against `weft serve`")
	blocks := regexp.MustCompile("(?s)```(?:go)?\n(.*?)```").FindAllStringSubmatch(section, 2)
	if len(blocks) != 2 {
		t.Fatalf("the README's full flow has %d code blocks, want the command and the program", len(blocks))
	}
	command, _, _ := strings.Cut(strings.TrimSpace(blocks[0][1]), "#")
	args := strings.Fields(command)
	key := ""
	for i, a := range args {
		if a == "--api-key" && i+1 < len(args) {
			key = args[i+1]
		}
	}
	const readmeBase = "http://localhost:7700"
	program := blocks[1][1]
	if len(args) < 2 || args[0] != "weft" || args[1] != "serve" || key == "" || !strings.Contains(program, readmeBase) {
		t.Fatalf("the README's full flow changed: %q, program:\n%s", command, program)
	}

	addr := freeAddr(t)
	s := &deliveryServer{base: "http://" + addr, key: key}
	s.proc = start(t, append(args[1:], "--addr", addr, "--data", t.TempDir(), "--log-level", "warn")...)
	waitHealthy(t, s.base, s.proc)
	s.c = client.New(s.base, key)
	path := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(program, readmeBase, s.base)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := exec.Command("go", "run", path) // in this module, which provides the SDK
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("go run the README's program: %v\n%s", err, out)
	}
	// Served by API, or by SDK should the 250 ms default timeout pass on a
	// loaded machine; either way the request reached /deliver with a key
	// it accepts, which the server's delivery log shows.
	m := regexp.MustCompile(`^0 p\d \S+\n1 p\d \S+\nserved by (API|SDK) client request (\S+)\n$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the README's program printed:\n%s", out)
	}
	if string(m[1]) == "SDK" {
		t.Logf("the README's program fell back to SDK delivery:\n%s", out)
	}
	if logs := s.serverLogs(t)[string(m[2])]; !slices.Equal(logs, []string{"PRODUCTION"}) {
		t.Errorf("the server logged deliveries %v of the README's request %s", logs, m[2])
	}
}

// waitStopped waits until the process is stopped (state T in
// /proc/<pid>/stat): kill returns before a SIGSTOP takes effect, and a
// request sent in between would still be answered.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the command name in parentheses.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'T' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not stop: %s", pid, stat)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
