package delivery

import (
	"errors"
	"slices"
	"strings"
	"testing"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/proto"
)

func checkerFunc(answer bool) ApplyTreatmentChecker {
	return ApplyTreatmentCheckerFunc(func(*ev.CohortMembership) bool { return answer })
}

// TestDeliverDecisionTable walks the rows of the decision table in the
// package documentation.
func TestDeliverDecisionTable(t *testing.T) {
	t.Parallel()
	control := controlArm()
	control.MembershipId = "not logged"
	treatment := treatmentArm()
	tests := []struct {
		name           string
		onlyLog        bool
		experiment     *ev.CohortMembership
		checker        ApplyTreatmentChecker
		apiErr         error
		wantAPI        bool
		wantExec       pb.ExecutionServer
		wantDeliveries int // delivery logs sent; -1: no LogRequest at all
		wantCohort     bool
	}{
		{"only log", true, nil, nil, nil, false, pb.ExecutionServer_SDK, 1, false},
		{"only log with experiment", true, treatment, nil, nil, false, pb.ExecutionServer_SDK, 1, true},
		{"no experiment calls the API and does not log", false, nil, nil, nil, true, pb.ExecutionServer_API, -1, false},
		{"treatment calls the API and logs the cohort", false, treatment, nil, nil, true, pb.ExecutionServer_API, 0, true},
		{"unknown arm is treatment", false, &ev.CohortMembership{CohortId: "c"}, nil, nil, true, pb.ExecutionServer_API, 0, true},
		{"control delivers SDK-side and logs", false, control, nil, nil, false, pb.ExecutionServer_SDK, 1, true},
		{"checker false delivers SDK-side", false, nil, checkerFunc(false), nil, false, pb.ExecutionServer_SDK, 1, false},
		{"checker true calls the API and does not log", false, control, checkerFunc(true), nil, true, pb.ExecutionServer_API, 0, true},
		{"checker true without experiment", false, nil, checkerFunc(true), nil, true, pb.ExecutionServer_API, -1, false},
		{"only log wins over the checker", true, nil, checkerFunc(true), nil, false, pb.ExecutionServer_SDK, 1, false},
		{"API error falls back", false, nil, nil, errors.New("boom"), true, pb.ExecutionServer_SDK, 1, false},
		{"API error in treatment falls back", false, treatment, nil, errors.New("boom"), true, pb.ExecutionServer_SDK, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tc := newTestClient(t, testClientOpts{checker: tt.checker, apiErr: tt.apiErr})
			dr := &DeliveryRequest{Request: testRequest(3), OnlyLog: tt.onlyLog, Experiment: tt.experiment}
			resp, err := tc.Deliver(dr)
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if got := len(tc.api.requests()) == 1; got != tt.wantAPI {
				t.Errorf("API called: %v, want %v", got, tt.wantAPI)
			}
			if resp.ExecutionServer != tt.wantExec {
				t.Errorf("ExecutionServer = %v, want %v", resp.ExecutionServer, tt.wantExec)
			}
			if wantSDK := tt.wantExec == pb.ExecutionServer_SDK; (len(tc.sdk.requests()) == 1) != wantSDK {
				t.Errorf("SDK delivery called %d times, want it called: %v", len(tc.sdk.requests()), wantSDK)
			}
			if !errors.Is(resp.APIError, tt.apiErr) {
				t.Errorf("APIError = %v, want %v", resp.APIError, tt.apiErr)
			}
			checkLogs(t, tc.flushedLogs(t), dr, resp, tt.wantDeliveries, tt.wantCohort)
		})
	}
}

// checkLogs checks the LogRequests sent for one Deliver call.
func checkLogs(t *testing.T, logs []*ev.LogRequest, dr *DeliveryRequest, resp *DeliveryResponse, wantDeliveries int, wantCohort bool) {
	t.Helper()
	if wantDeliveries < 0 {
		if len(logs) != 0 {
			t.Errorf("sent %d LogRequests, want none", len(logs))
		}
		return
	}
	if len(logs) != 1 {
		t.Fatalf("sent %d LogRequests, want 1", len(logs))
	}
	lr := logs[0]
	if len(lr.DeliveryLog) != wantDeliveries {
		t.Fatalf("LogRequest has %d delivery logs, want %d", len(lr.DeliveryLog), wantDeliveries)
	}
	if !proto.Equal(lr.UserInfo, dr.Request.UserInfo) || !proto.Equal(lr.ClientInfo, dr.Request.ClientInfo) ||
		!proto.Equal(lr.Timing, dr.Request.Timing) {
		t.Errorf("LogRequest user/client/timing = %v %v %v, want the request's", lr.UserInfo, lr.ClientInfo, lr.Timing)
	}
	if wantDeliveries == 1 {
		dl := lr.DeliveryLog[0]
		if !proto.Equal(dl.Request, dr.Request) || !proto.Equal(dl.Response, resp.Response) {
			t.Errorf("delivery log request/response differ from the delivered ones:\n%v\n%v", dl.Request, dl.Response)
		}
		if dl.Execution.GetExecutionServer() != pb.ExecutionServer_SDK || dl.Execution.GetServerVersion() != "go.1.0.0" {
			t.Errorf("delivery log execution = %v, want SDK go.1.0.0", dl.Execution)
		}
	}
	wantMembership := []*ev.CohortMembership(nil)
	if wantCohort {
		wantMembership = []*ev.CohortMembership{{CohortId: dr.Experiment.CohortId, Arm: dr.Experiment.Arm}}
	}
	if !slices.EqualFunc(lr.CohortMembership, wantMembership, func(a, b *ev.CohortMembership) bool { return proto.Equal(a, b) }) {
		t.Errorf("cohort membership = %v, want %v", lr.CohortMembership, wantMembership)
	}
}

func TestDeliverUsesAPIResponse(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, testClientOpts{apiResponse: apiResponse("2", "1", "0")})
	dr := &DeliveryRequest{Request: testRequest(3)}
	resp, err := tc.Deliver(dr)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if got := contentIDs(resp.Response.Insertion); !slices.Equal(got, []string{"2", "1", "0"}) {
		t.Errorf("content ids = %q, want the API's order", got)
	}
	if got := tc.api.requests(); len(got) != 1 || got[0] != dr {
		t.Errorf("API got %v, want the caller's own DeliveryRequest", got)
	}
}

// A client built as a struct literal with only the two APIs works; the
// requestId check belongs to the HTTP Delivery API, not to the client.
func TestDeliverStructLiteralClient(t *testing.T) {
	t.Parallel()
	api := &recordingDelivery{resp: &pb.Response{Insertion: []*pb.Insertion{{ContentId: "2"}, {ContentId: "1"}}}}
	metrics := &recordingMetrics{}
	client := &PromotedDeliveryClient{deliveryAPI: api, metricsAPI: metrics, logger: testLogger(t)}
	resp, err := client.Deliver(&DeliveryRequest{Request: testRequest(2)})
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if got := contentIDs(resp.Response.Insertion); !slices.Equal(got, []string{"2", "1"}) {
		t.Errorf("content ids = %q, want reranked [2 1]", got)
	}
	only, err := client.Deliver(&DeliveryRequest{Request: testRequest(2), OnlyLog: true})
	if err != nil {
		t.Fatalf("only-log Deliver: %v", err)
	}
	if only.ExecutionServer != pb.ExecutionServer_SDK || len(only.Response.Insertion) != 2 {
		t.Errorf("only-log response = %v, want 2 SDK insertions", only)
	}
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := len(metrics.received()); got != 1 {
		t.Errorf("sent %d LogRequests, want 1 (the only-log delivery)", got)
	}
}

func TestDeliverClientRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		own     string
		onlyLog bool
	}{
		{"caller's id via API", "mine", false},
		{"caller's id via SDK", "mine", true},
		{"generated id via API", "", false},
		{"generated id via SDK", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tc := newTestClient(t, testClientOpts{})
			req := testRequest(2)
			req.ClientRequestId = tt.own
			resp, err := tc.Deliver(&DeliveryRequest{Request: req, OnlyLog: tt.onlyLog})
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if resp.ClientRequestID == "" || resp.ClientRequestID != req.ClientRequestId {
				t.Errorf("ClientRequestID = %q, sent %q: want the id actually sent", resp.ClientRequestID, req.ClientRequestId)
			}
			if tt.own != "" && resp.ClientRequestID != tt.own {
				t.Errorf("ClientRequestID = %q, want the caller's %q", resp.ClientRequestID, tt.own)
			}
		})
	}
}

func TestPrepareRequest(t *testing.T) {
	t.Parallel()
	client := &PromotedDeliveryClient{}
	req := testRequest(1)
	req.ClientInfo = &cm.ClientInfo{ClientType: cm.ClientInfo_PLATFORM_CLIENT, TrafficType: cm.ClientInfo_SHADOW}
	req.Timing = &cm.Timing{ClientLogTimestamp: 42}
	req.ClientRequestId = "mine"
	plan := client.Plan(false, nil)
	client.PrepareRequest(&DeliveryRequest{Request: req}, plan)
	if req.ClientInfo.ClientType != cm.ClientInfo_PLATFORM_SERVER || req.ClientInfo.TrafficType != cm.ClientInfo_PRODUCTION {
		t.Errorf("client info = %v, want PLATFORM_SERVER/PRODUCTION", req.ClientInfo)
	}
	if req.Timing.ClientLogTimestamp != 42 {
		t.Errorf("client timestamp = %d, want the caller's 42", req.Timing.ClientLogTimestamp)
	}
	if plan.ClientRequestID != "mine" {
		t.Errorf("plan client request id = %q, want the request's", plan.ClientRequestID)
	}

	fresh := testRequest(1)
	client.PrepareRequest(&DeliveryRequest{Request: fresh}, client.Plan(false, nil))
	if fresh.Timing.GetClientLogTimestamp() == 0 || fresh.ClientRequestId == "" {
		t.Errorf("fresh request = %v, want a timestamp and a client request id", fresh)
	}
}

func TestDeliverPerformChecks(t *testing.T) {
	t.Parallel()
	for _, checks := range []bool{false, true} {
		tc := newTestClient(t, testClientOpts{checks: checks})
		v := &countingValidator{}
		// A request the default validator would reject is still delivered.
		if _, err := tc.Deliver(NewDeliveryRequest(testRequest(1), nil, false, 0, v)); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		if want := map[bool]int{false: 0, true: 1}[checks]; v.calls != want {
			t.Errorf("performChecks %v: validator called %d times, want %d", checks, v.calls, want)
		}
	}
}

func TestDeliverInvalidRequestStillDelivered(t *testing.T) {
	t.Parallel()
	logs := &logCapture{}
	tc := newTestClient(t, testClientOpts{checks: true})
	tc.logger = logs.logger()
	resp, err := tc.Deliver(&DeliveryRequest{Request: &pb.Request{Insertion: testInsertions(1)}, OnlyLog: true})
	if err != nil || len(resp.Response.Insertion) != 1 {
		t.Fatalf("Deliver = %v, %v; want one insertion", resp, err)
	}
	if want := "Request.userInfo should be set"; !strings.Contains(logs.text(), want) {
		t.Errorf("log %q does not mention %q", logs.text(), want)
	}
}

func TestDeliverErrors(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, testClientOpts{})
	tests := []struct {
		name string
		dr   *DeliveryRequest
		want string
	}{
		{"nil delivery request", nil, "DeliveryRequest is nil"},
		{"nil request", &DeliveryRequest{}, "Request builder must be set"},
		{"SDK paging error", &DeliveryRequest{Request: &pb.Request{Insertion: testInsertions(3), Paging: NewPaging(2, 1)},
			OnlyLog: true, RetrievalInsertionOffset: 2}, "offset should be >= insertion start (specifically, the global position)"},
	}
	for _, tt := range tests {
		resp, err := tc.Deliver(tt.dr)
		if err == nil || err.Error() != tt.want || resp != nil {
			t.Errorf("%s: Deliver = %v, %v; want error %q", tt.name, resp, err, tt.want)
		}
	}
	if logs := tc.flushedLogs(t); len(logs) != 0 {
		t.Errorf("failed deliveries sent %d LogRequests, want none", len(logs))
	}
}

func TestDeliverPassesSDKInsertionIDs(t *testing.T) {
	t.Parallel()
	tc := newTestClient(t, testClientOpts{})
	req := testRequest(2)
	req.Insertion[0].InsertionId = "kept"
	resp, err := tc.Deliver(&DeliveryRequest{Request: req, OnlyLog: true})
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if got := resp.Response.Insertion[0].InsertionId; got != "kept" {
		t.Errorf("insertion id = %q, want %q", got, "kept")
	}
}
