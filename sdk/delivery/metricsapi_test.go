package delivery

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestMetricsAPISendsLogRequest(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, respond(http.StatusOK, `{}`))
	lr := &ev.LogRequest{
		UserInfo:         &cm.UserInfo{AnonUserId: "anon"},
		CohortMembership: []*ev.CohortMembership{{CohortId: "HOLD_OUT", Arm: ev.CohortArm_CONTROL}},
		DeliveryLog:      []*pb.DeliveryLog{{Request: testRequest(1), Execution: &pb.DeliveryExecution{ExecutionServer: pb.ExecutionServer_SDK}}},
	}
	if err := NewPromotedMetricsAPI(srv.URL+"/v1/log?tenant=a", "mkey", 0).RunMetricsLogging(lr); err != nil {
		t.Fatalf("RunMetricsLogging: %v", err)
	}
	got := srv.only(t)
	if got.method != http.MethodPost || got.path != "/v1/log" || got.query != "tenant=a" {
		t.Errorf("request line = %s %s?%s, want the endpoint verbatim", got.method, got.path, got.query)
	}
	if got.header.Get("X-Api-Key") != "mkey" || got.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", got.header)
	}
	sent := &ev.LogRequest{}
	if err := protojson.Unmarshal(got.body, sent); err != nil || !proto.Equal(sent, lr) {
		t.Errorf("body does not parse back to the LogRequest (%v): %s", err, got.body)
	}
}

func TestMetricsAPIStatus(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 201, 202, 204, 299, 300, 400, 404, 500} {
		srv := newRecordingServer(t, respond(status, ""))
		err := NewPromotedMetricsAPI(srv.URL+"/log", "k", 0).RunMetricsLogging(&ev.LogRequest{})
		var httpErr *HTTPError
		switch ok := status < 300; {
		case ok && err != nil:
			t.Errorf("status %d: error %v, want success (any 2xx)", status, err)
		case !ok && (!errors.As(err, &httpErr) || httpErr.StatusCode != status):
			t.Errorf("status %d: error %v, want an HTTPError with the status", status, err)
		}
	}
}

func TestMetricsAPITimeout(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, stall)
	m := &PromotedMetricsAPI{Endpoint: srv.URL + "/log", TimeoutDuration: 50 * time.Millisecond}
	if err := m.RunMetricsLogging(&ev.LogRequest{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
}
