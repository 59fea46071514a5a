package delivery

import (
	"math"
	"slices"
	"strings"
	"testing"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
)

func TestSDKDeliveryPaging(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		n             int
		paging        *pb.Paging
		rio           int
		wantContent   []string
		wantPositions []uint64
	}{
		{"no paging returns all", 10, nil, 0,
			[]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"zero offset", 10, NewPaging(5, 0), 0,
			[]string{"0", "1", "2", "3", "4"}, []uint64{0, 1, 2, 3, 4}},
		{"non-zero offset", 10, NewPaging(5, 5), 0,
			[]string{"5", "6", "7", "8", "9"}, []uint64{5, 6, 7, 8, 9}},
		{"size more than insertions", 10, NewPaging(11, 0), 0,
			[]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"zero size returns all from offset", 4, NewPaging(0, 0), 0,
			[]string{"0", "1", "2", "3"}, []uint64{0, 1, 2, 3}},
		{"retrieval offset equal to offset", 3, NewPaging(2, 5), 5,
			[]string{"0", "1"}, []uint64{5, 6}},
		{"retrieval offset less than offset", 3, NewPaging(2, 6), 5,
			[]string{"1", "2"}, []uint64{6, 7}},
		{"offset outside size", 3, NewPaging(2, 8), 5, []string{}, []uint64{}},
		{"offset far past the end", 3, NewPaging(2, 5), 1, []string{}, []uint64{}},
		{"valid offset and retrieval offset", 20, NewPaging(5, 10), 5,
			[]string{"5", "6", "7", "8", "9"}, []uint64{10, 11, 12, 13, 14}},
		{"cursor counts as offset 0", 3, &pb.Paging{Size: 2, Starting: &pb.Paging_Cursor{Cursor: "2"}}, 0,
			[]string{"0", "1"}, []uint64{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := testRequest(tt.n)
			req.Paging = tt.paging
			resp, err := NewSDKDelivery().RunDelivery(&DeliveryRequest{Request: req, RetrievalInsertionOffset: tt.rio})
			if err != nil {
				t.Fatalf("RunDelivery: %v", err)
			}
			if got := contentIDs(resp.Insertion); !slices.Equal(got, tt.wantContent) {
				t.Errorf("content ids = %q, want %q", got, tt.wantContent)
			}
			if got := positions(resp.Insertion); !slices.Equal(got, tt.wantPositions) {
				t.Errorf("positions = %v, want %v", got, tt.wantPositions)
			}
			if resp.RequestId == "" || resp.RequestId != req.RequestId {
				t.Errorf("response request id %q, request's %q: want equal and set", resp.RequestId, req.RequestId)
			}
			for _, ins := range resp.Insertion {
				if ins.InsertionId == "" {
					t.Errorf("insertion %q has no insertion id", ins.ContentId)
				}
			}
		})
	}
}

func TestSDKDeliveryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		req     *pb.Request
		rio     int
		wantErr string
	}{
		{"offset before retrieval offset", &pb.Request{Insertion: testInsertions(10), Paging: NewPaging(5, 10)}, 100,
			"offset should be >= insertion start (specifically, the global position)"},
		{"negative retrieval offset", &pb.Request{Insertion: testInsertions(3)}, -1,
			"Insertion start must be greater or equal to 0"},
		{"retrieval offset too large", &pb.Request{Insertion: testInsertions(3)}, math.MaxInt32 + 1,
			"RetrievalInsertionOffset is too large"},
		{"no request", nil, 0, "Request builder must be set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := NewSDKDelivery().RunDelivery(&DeliveryRequest{Request: tt.req, RetrievalInsertionOffset: tt.rio})
			checkFailure(t, resp, err, tt.wantErr)
		})
	}
}

func TestSDKDeliveryInsertionIDs(t *testing.T) {
	t.Parallel()
	req := testRequest(3)
	req.Insertion[1].InsertionId = "mine"
	req.Insertion[0].Properties = &cm.Properties{}
	resp, err := NewSDKDelivery().RunDelivery(&DeliveryRequest{Request: req})
	if err != nil {
		t.Fatalf("RunDelivery: %v", err)
	}
	if got := resp.Insertion[1].InsertionId; got != "mine" {
		t.Errorf("insertion id %q, want the request's %q passed through", got, "mine")
	}
	if a, c := resp.Insertion[0].InsertionId, resp.Insertion[2].InsertionId; a == "" || a == c {
		t.Errorf("generated insertion ids %q and %q, want distinct and set", a, c)
	}
	if resp.Insertion[0].Properties != nil || resp.Insertion[0].UserInfo != nil {
		t.Errorf("response insertion carries more than content id, insertion id and position: %v", resp.Insertion[0])
	}
	if strings.Count(resp.RequestId, "-") != 4 {
		t.Errorf("request id %q is not a UUID", resp.RequestId)
	}
}
