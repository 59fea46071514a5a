package delivery_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/weftdata/weft/sdk/delivery"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/encoding/protojson"
)

// fakeWeft stands in for `weft serve`: /deliver returns the requested page
// in reverse order, /log accepts LogRequests.
func fakeWeft() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/log" {
			io.WriteString(w, "{}")
			return
		}
		req := &pb.Request{}
		if err := protojson.Unmarshal(body, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := &pb.Response{RequestId: "req-1"}
		for i, ins := range slices.Backward(req.Insertion) {
			pos := uint64(len(req.Insertion) - 1 - i)
			resp.Insertion = append(resp.Insertion, &pb.Insertion{ContentId: ins.ContentId, InsertionId: "ins-" + ins.ContentId, Position: &pos})
		}
		out, _ := protojson.Marshal(resp)
		w.Write(out)
	}))
}

func newRequest(contentIDs ...string) *pb.Request {
	req := &pb.Request{UserInfo: &cm.UserInfo{AnonUserId: "anon-1"}, UseCase: pb.UseCase_FEED}
	for _, id := range contentIDs {
		req.Insertion = append(req.Insertion, &pb.Insertion{ContentId: id})
	}
	return req
}

func printResponse(resp *delivery.DeliveryResponse) {
	fmt.Print(resp.ExecutionServer, ":")
	for _, ins := range resp.Response.Insertion {
		fmt.Printf(" %s@%d", ins.ContentId, ins.GetPosition())
	}
	fmt.Println()
}

// Deliver calls the Delivery API for requests in treatment and pages the
// insertions itself for the control arm and only-log requests.
func Example() {
	server := fakeWeft()
	defer server.Close()

	client, err := delivery.NewPromotedDeliveryClientBuilder().
		WithDeliveryEndpoint(server.URL).
		WithDeliveryAPIKey("delivery-key").
		WithMetricsEndpoint(server.URL + "/log").
		WithMetricsAPIKey("metrics-key").
		Build()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close() // flushes the LogRequests still queued

	// No experiment: the Delivery API ranks.
	resp, err := client.Deliver(&delivery.DeliveryRequest{Request: newRequest("a", "b", "c")})
	if err != nil {
		log.Fatal(err)
	}
	printResponse(resp)

	// Control arm: the SDK keeps the given order and logs what it served.
	control := &ev.CohortMembership{CohortId: "HOLD_OUT", Arm: ev.CohortArm_CONTROL}
	resp, err = client.Deliver(&delivery.DeliveryRequest{Request: newRequest("a", "b", "c"), Experiment: control})
	if err != nil {
		log.Fatal(err)
	}
	printResponse(resp)

	// Only-log, second page of 2 out of candidates [10, 15) of a longer list.
	req := newRequest("p10", "p11", "p12", "p13", "p14")
	req.Paging = delivery.NewPaging(2, 12)
	resp, err = client.Deliver(&delivery.DeliveryRequest{Request: req, OnlyLog: true, RetrievalInsertionOffset: 10})
	if err != nil {
		log.Fatal(err)
	}
	printResponse(resp)
	// Output:
	// API: c@0 b@1 a@2
	// SDK: a@0 b@1 c@2
	// SDK: p12@12 p13@13
}

// Users are hashed into 50 control and 50 treatment buckets. With 50%
// active per arm everyone is in the experiment; with 1% most users are not
// (nil membership), and Deliver then calls the Delivery API for them.
func ExampleCreate5050TwoArmExperimentConfig() {
	exp, err := delivery.Create5050TwoArmExperimentConfig("HOLD_OUT", 50, 50)
	if err != nil {
		log.Fatal(err)
	}
	for _, user := range []string{"user2", "user4"} {
		fmt.Println(user, exp.CheckMembership(user).GetArm())
	}
	small, err := delivery.Create5050TwoArmExperimentConfig("HOLD_OUT", 1, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("user5", small.CheckMembership("user5"))
	_, err = delivery.Create5050TwoArmExperimentConfig("HOLD_OUT", 60, 50)
	fmt.Println(err)
	// Output:
	// user2 CONTROL
	// user4 TREATMENT
	// user5 <nil>
	// control percent must be in the range [0, 50]
}
