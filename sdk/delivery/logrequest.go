package delivery

import (
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/proto"
)

// serverVersion is written to SDK delivery logs. It is the value of
// Promoted's Go client, so a server that tells SDKs apart sees the same.
const serverVersion = "go.1.0.0"

// newLogRequest builds what goes to the Metrics API: the request's
// platform, user, timing and client info; a delivery log when the SDK
// delivered; the cohort membership when there is an experiment. It copies
// what it takes, because it is sent later on another goroutine while the
// caller may already be changing its request and response.
func newLogRequest(req *pb.Request, resp *pb.Response, exec pb.ExecutionServer, experiment *ev.CohortMembership) *ev.LogRequest {
	lr := &ev.LogRequest{PlatformId: req.GetPlatformId()}
	if exec == pb.ExecutionServer_SDK {
		logged := cloneOf(req)
		lr.DeliveryLog = []*pb.DeliveryLog{{
			Request:   logged,
			Response:  cloneOf(resp),
			Execution: &pb.DeliveryExecution{ExecutionServer: exec, ServerVersion: serverVersion},
		}}
		lr.UserInfo, lr.Timing, lr.ClientInfo = logged.GetUserInfo(), logged.GetTiming(), logged.GetClientInfo()
	} else {
		lr.UserInfo, lr.Timing, lr.ClientInfo = cloneOf(req.GetUserInfo()), cloneOf(req.GetTiming()), cloneOf(req.GetClientInfo())
	}
	if experiment != nil {
		lr.CohortMembership = []*ev.CohortMembership{experiment}
	}
	return lr
}

// cloneOf is a typed proto.Clone; a nil message stays nil.
func cloneOf[M proto.Message](m M) M {
	return proto.Clone(m).(M)
}
