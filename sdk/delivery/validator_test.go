package delivery

import (
	"slices"
	"testing"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := func() *pb.Request {
		return &pb.Request{UserInfo: &cm.UserInfo{AnonUserId: "a"}, Insertion: []*pb.Insertion{{ContentId: "1"}}}
	}
	tests := []struct {
		name string
		dr   *DeliveryRequest
		want []string
	}{
		{"nil delivery request", nil, []string{"DeliveryRequest is nil"}},
		{"request must be set", NewDeliveryRequest(nil, nil, false, 0, nil),
			[]string{"Request builder must be set"}},
		{"request id must be unset", NewDeliveryRequest(
			&pb.Request{RequestId: "z", UserInfo: &cm.UserInfo{AnonUserId: "a"}}, nil, false, 0, nil),
			[]string{"Request.requestID should not be set"}},
		{"retrieval insertion offset must not be negative", NewDeliveryRequest(valid(), nil, false, -1, nil),
			[]string{"Insertion start must be greater or equal to 0"}},
		{"content id must be set", NewDeliveryRequest(
			&pb.Request{UserInfo: &cm.UserInfo{AnonUserId: "a"}, Insertion: []*pb.Insertion{{}}}, nil, false, 0, nil),
			[]string{"Insertion.contentID should be set"}},
		{"valid insertion", NewDeliveryRequest(valid(), nil, false, 0, nil), nil},
		{"valid experiment", NewDeliveryRequest(valid(),
			&ev.CohortMembership{CohortId: "HOLD_OUT", Arm: ev.CohortArm_TREATMENT}, false, 0, nil), nil},
		{"user info must be set", NewDeliveryRequest(&pb.Request{}, nil, false, 0, nil),
			[]string{"Request.userInfo should be set"}},
		{"anon user id must be set", NewDeliveryRequest(&pb.Request{UserInfo: &cm.UserInfo{UserId: "u"}}, nil, false, 0, nil),
			[]string{"Request.userInfo.anonUserID should be set"}},
		{"multiple errors in order", NewDeliveryRequest(
			&pb.Request{RequestId: "z", UserInfo: &cm.UserInfo{}, Insertion: []*pb.Insertion{{}, {ContentId: "1"}, {}}}, nil, false, -2, nil),
			[]string{"Request.requestID should not be set", "Request.userInfo.anonUserID should be set",
				"Insertion.contentID should be set", "Insertion.contentID should be set",
				"Insertion start must be greater or equal to 0"}},
		{"struct literal uses the default validator", &DeliveryRequest{Request: &pb.Request{}},
			[]string{"Request.userInfo should be set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.dr.Validate(); !slices.Equal(got, tt.want) {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateUsesCustomValidator(t *testing.T) {
	t.Parallel()
	v := &countingValidator{}
	dr := NewDeliveryRequest(&pb.Request{RequestId: "set"}, nil, false, 0, v)
	if got := dr.Validate(); got != nil {
		t.Errorf("Validate() = %q, want the custom validator's nil", got)
	}
	if v.calls != 1 {
		t.Errorf("custom validator called %d times, want 1", v.calls)
	}
}

func TestCloneTruncatesToMax(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		n, max    int
		wantCount int
	}{
		{"exactly max", 5, 5, 5},
		{"more than max", 7, 5, 5},
		{"fewer than max", 3, 5, 3},
		{"no max", 7, NoMaxRequestInsertions, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dr := &DeliveryRequest{Request: testRequest(tt.n), RetrievalInsertionOffset: 3, OnlyLog: true}
			clone := dr.Clone(tt.max)
			if got := len(clone.Request.Insertion); got != tt.wantCount {
				t.Errorf("clone has %d insertions, want %d", got, tt.wantCount)
			}
			if len(dr.Request.Insertion) != tt.n {
				t.Errorf("original has %d insertions, want %d", len(dr.Request.Insertion), tt.n)
			}
			if clone.RetrievalInsertionOffset != 3 || !clone.OnlyLog {
				t.Errorf("clone lost RetrievalInsertionOffset/OnlyLog: %+v", clone)
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	t.Parallel()
	dr := &DeliveryRequest{Request: testRequest(2)}
	clone := dr.Clone(NoMaxRequestInsertions)
	clone.Request.UserInfo.AnonUserId = "changed"
	clone.Request.Insertion[0].ContentId = "changed"
	if dr.Request.UserInfo.AnonUserId != "anon" || dr.Request.Insertion[0].ContentId != "0" {
		t.Errorf("changing the clone changed the original: %v", dr.Request)
	}
}
