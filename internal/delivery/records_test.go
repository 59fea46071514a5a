package delivery

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
)

// goLogRequest is what the Go SDK logs for a control-arm delivery (spec
// 4.1), plus front-end records.
func goLogRequest(t *testing.T) []byte {
	t.Helper()
	req := sampleRequest(t)
	req.RequestId = "req-1"
	pos := uint64(0)
	lr := &ev.LogRequest{
		UserInfo:         &cm.UserInfo{AnonUserId: "anon", UserId: "u1"},
		Timing:           &cm.Timing{ClientLogTimestamp: 1795347240877},
		ClientInfo:       &cm.ClientInfo{ClientType: cm.ClientInfo_PLATFORM_SERVER, TrafficType: cm.ClientInfo_PRODUCTION},
		CohortMembership: []*ev.CohortMembership{{CohortId: "HOLD", Arm: ev.CohortArm_CONTROL}},
		DeliveryLog: []*pb.DeliveryLog{{
			Request:   req,
			Response:  &pb.Response{RequestId: "req-1", Insertion: []*pb.Insertion{{InsertionId: "ins-1", ContentId: "1", Position: &pos}}},
			Execution: &pb.DeliveryExecution{ExecutionServer: pb.ExecutionServer_SDK, ServerVersion: "go.1.0.0"},
		}},
		Impression: []*ev.Impression{{ImpressionId: "imp-1", InsertionId: "ins-1"}},
		Action:     []*ev.Action{{ActionId: "act-1", InsertionId: "ins-1", ActionType: ev.ActionType_NAVIGATE, Timing: &cm.Timing{ClientLogTimestamp: 1795347241000}}},
	}
	body, err := json.Marshal(lr) // the Go SDK's encoding
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestLogRequestEvents(t *testing.T) {
	s := New(Options{})
	lr, err := decodeLogRequest(goLogRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	events := s.events(lr, received)
	var got []string
	payloads := map[string]string{}
	for _, e := range events {
		if e.SourceID != "delivery" || e.Version != "1" {
			t.Errorf("event type %v", e.EventTypeKey)
		}
		got = append(got, e.ID+" "+e.EventTime.Format(time.RFC3339Nano))
		payloads[e.Type] = string(e.Payload)
	}
	at := func(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }
	if len(events) != 4 {
		t.Fatalf("events %v", got)
	}
	if !strings.HasPrefix(got[0], "delivery/cohort_membership/") || !strings.HasSuffix(got[0], " "+at(1795347240877)) {
		t.Errorf("cohort membership %s", got[0])
	}
	for i, w := range []string{
		"delivery/impression/imp-1 " + at(1795347240877),
		"delivery/action/act-1 " + at(1795347241000),
		"delivery/delivery_log/req-1 " + at(1795347240269),
	} {
		if got[i+1] != w {
			t.Errorf("event %d: %s, want %s", i+1, got[i+1], w)
		}
	}
	for typ, want := range map[string][]string{
		"cohort_membership": {`"arm":"CONTROL"`, `"cohortId":"HOLD"`, `"userInfo":{"anonUserId":"anon","userId":"u1"}`, `"clientType":"PLATFORM_SERVER"`},
		"delivery_log":      {`"executionServer":"SDK"`, `"platformId":"18446744073709551615"`, `"offset":3`, `"struct":{"price":100`, `"userInfo":{"anonUserId":"anon","userId":"u1"}`, `"useCase":"SEARCH"`},
		"impression":        {`"contentId":"1"`, `"userInfo":{"anonUserId":"anon","userId":"u1"}`, `"timing":{"clientLogTimestamp":"1795347240877"}`},
		"action":            {`"contentId":"1"`, `"actionType":"NAVIGATE"`, `"timing":{"clientLogTimestamp":"1795347241000"}`},
	} {
		for _, w := range want {
			if !strings.Contains(payloads[typ], w) {
				t.Errorf("%s payload %s lacks %s", typ, payloads[typ], w)
			}
		}
	}
	// The same body again gives the same ids and payloads.
	lr2, _ := decodeLogRequest(goLogRequest(t))
	for i, e := range s.events(lr2, received.Add(time.Hour)) {
		if e.ID != events[i].ID || string(e.Payload) != string(events[i].Payload) {
			t.Errorf("retry changed event %d: %s %s", i, e.ID, e.Payload)
		}
	}
}

// TestLogRequestWithoutTiming takes the arrival time and hashes records
// without natural ids.
func TestLogRequestWithoutTiming(t *testing.T) {
	s := New(Options{})
	lr, err := decodeLogRequest([]byte(`{"user":[{"userInfo":{"userId":"u"}}],"device":{"brand":"b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	events := s.events(lr, received)
	if len(events) != 2 || events[0].Type != "device" || events[1].Type != "user" {
		t.Fatalf("events %v", events)
	}
	for _, e := range events {
		if !e.EventTime.Equal(received) || len(e.ID) != len("delivery/"+e.Type+"/")+32 {
			t.Errorf("event %s at %v", e.ID, e.EventTime)
		}
	}
}
