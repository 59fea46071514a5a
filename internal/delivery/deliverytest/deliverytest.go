// Package deliverytest reads Delivery API answers the way Promoted's
// clients do, for tests of the server.
package deliverytest

import (
	"errors"
	"fmt"

	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
)

// ParseResponse parses the body of a POST /deliver answer as Promoted's Go
// client does, strictly (protojson.Unmarshal: a key that is not a field of
// delivery.Response is an error) and requiring a requestId. It also checks
// what the clients rely on: every insertion has a contentId, an
// insertionId and a position, in ascending order of position.
func ParseResponse(body []byte) (*pb.Response, error) {
	resp := &pb.Response{}
	if err := protojson.Unmarshal(body, resp); err != nil {
		return nil, fmt.Errorf("the strict parser refuses %s: %w", body, err)
	}
	if resp.RequestId == "" {
		return nil, errors.New("delivery response should contain a requestId")
	}
	for i, in := range resp.Insertion {
		if in.ContentId == "" || in.InsertionId == "" || in.Position == nil {
			return nil, fmt.Errorf("insertion %d of %s lacks a contentId, an insertionId or a position", i, body)
		}
		if i > 0 && in.GetPosition() <= resp.Insertion[i-1].GetPosition() {
			return nil, fmt.Errorf("insertion %d of %s is not after the one before", i, body)
		}
	}
	return resp, nil
}
