package delivery

import (
	"errors"
	"math"

	"github.com/google/uuid"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
)

// SDKDelivery pages the request insertions in their given order, without
// calling the Delivery API: for only-log requests, the control arm, and as
// the fallback when the API fails.
type SDKDelivery struct{}

// NewSDKDelivery returns an SDKDelivery.
func NewSDKDelivery() *SDKDelivery {
	return &SDKDelivery{}
}

var (
	errRetrievalOffsetTooLarge = errors.New("RetrievalInsertionOffset is too large")
	errOffsetBeforeRetrieval   = errors.New("offset should be >= insertion start (specifically, the global position)")
	//lint:ignore ST1005 the messages are Promoted's, word for word (spec 3.5)
	errNegativeRetrievalOffset = errors.New(msgNegativeOffset)
)

// RunDelivery returns the page that Request.Paging asks for. It sets a new
// request id on the request (so the logged request and the response share
// it). Positions are global: paging offset plus the index in the page. A
// page that starts past the last insertion is empty. A paging cursor is
// ignored (the offset counts as 0), as in Promoted's SDKs.
func (s *SDKDelivery) RunDelivery(dr *DeliveryRequest) (*pb.Response, error) {
	req := dr.Request
	if req == nil {
		//lint:ignore ST1005 the messages are Promoted's, word for word (spec 3.5)
		return nil, errors.New(msgRequestNil)
	}
	start, n, err := pageBounds(dr)
	if err != nil {
		return nil, err
	}
	req.RequestId = uuid.NewString()
	offset := uint64(max(0, req.GetPaging().GetOffset()))
	page := make([]*pb.Insertion, n)
	for i := range page {
		page[i] = responseInsertion(req.Insertion[start+i], offset+uint64(i))
	}
	return &pb.Response{RequestId: req.RequestId, Insertion: page}, nil
}

// pageBounds returns where the page starts in Request.Insertion and how
// many insertions it holds (never negative: Promoted's Go client panics
// when the offset lies past the end).
func pageBounds(dr *DeliveryRequest) (start, n int, err error) {
	rio := dr.RetrievalInsertionOffset
	switch {
	case rio > math.MaxInt32:
		return 0, 0, errRetrievalOffsetTooLarge
	case rio < 0:
		return 0, 0, errNegativeRetrievalOffset
	}
	paging := dr.Request.GetPaging()
	offset := int(max(0, paging.GetOffset()))
	if offset < rio {
		return 0, 0, errOffsetBeforeRetrieval
	}
	total := len(dr.Request.GetInsertion())
	size := int(paging.GetSize())
	if size <= 0 {
		size = total
	}
	start = offset - rio
	return start, max(0, min(size, total-start)), nil
}

// responseInsertion keeps only what a response insertion carries: the
// content id, an insertion id (the request's when set) and the position.
func responseInsertion(req *pb.Insertion, position uint64) *pb.Insertion {
	id := req.GetInsertionId()
	if id == "" {
		id = uuid.NewString()
	}
	return &pb.Insertion{ContentId: req.GetContentId(), InsertionId: id, Position: &position}
}

// NewPaging returns a Paging of size insertions starting at the global
// position offset.
func NewPaging(size, offset int32) *pb.Paging {
	return &pb.Paging{Size: size, Starting: &pb.Paging_Offset{Offset: offset}}
}
