package deliveryjson

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/promotedai/schema/generated/go/proto/common"
	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// benchRequest is the load the latency target is set for: n insertions
// with a content ID, a retrieval rank and two properties.
func benchRequest(n int) []byte {
	req := &delivery.Request{
		UserInfo:    &common.UserInfo{AnonUserId: "anon-7f3a9c"},
		Timing:      &common.Timing{ClientLogTimestamp: 1795347240269},
		ClientInfo:  &common.ClientInfo{ClientType: 1, TrafficType: 1},
		UseCase:     delivery.UseCase_SEARCH,
		SearchQuery: "running shoes",
		Paging:      &delivery.Paging{Size: 20, Starting: &delivery.Paging_Offset{Offset: 0}},
	}
	for i := range n {
		rank := uint64(i)
		req.Insertion = append(req.Insertion, &delivery.Insertion{
			ContentId:     "content-" + strconv.Itoa(100000+i),
			RetrievalRank: &rank,
			Properties: &common.Properties{StructField: &common.Properties_Struct{Struct: &structpb.Struct{
				Fields: map[string]*structpb.Value{
					"category": structpb.NewStringValue("category-" + strconv.Itoa(i%17)),
					"price":    structpb.NewNumberValue(float64(i%5000) / 100),
				}}}},
		})
	}
	data, err := protojson.Marshal(req)
	if err != nil {
		panic(err)
	}
	return data
}

func BenchmarkDecodeRequest(b *testing.B) {
	for _, n := range []int{100, 1000} {
		data := benchRequest(n)
		b.Run(fmt.Sprintf("insertions=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var req delivery.Request
			for b.Loop() {
				if err := DecodeRequest(data, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProtojsonRequest is the reference DecodeRequest replaces.
func BenchmarkProtojsonRequest(b *testing.B) {
	data := benchRequest(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	opts := protojson.UnmarshalOptions{DiscardUnknown: true}
	var req delivery.Request
	for b.Loop() {
		if err := opts.Unmarshal(data, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func benchResponse(n int) *delivery.Response {
	resp := &delivery.Response{RequestId: "0b5a3f0e-8c1d-4d0e-9a53-7c1e2f4b9d10",
		PagingInfo: &delivery.PagingInfo{PagingId: "MTUwMDA6c2VhcmNo", Cursor: strconv.Itoa(n)}}
	for i := range n {
		pos := uint64(i)
		resp.Insertion = append(resp.Insertion, &delivery.Insertion{
			InsertionId: fmt.Sprintf("%08x-8c1d-4d0e-9a53-7c1e2f4b9d10", i),
			ContentId:   "content-" + strconv.Itoa(100000+i),
			Position:    &pos,
		})
	}
	return resp
}

func BenchmarkAppendResponse(b *testing.B) {
	for _, n := range []int{50, 1000} {
		resp := benchResponse(n)
		b.Run(fmt.Sprintf("insertions=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(AppendResponse(nil, resp))))
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf = AppendResponse(buf[:0], resp)
			}
		})
	}
}
