package delivery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// BenchmarkDeliver is the request path without ranking or the network:
// decoding, paging, the answer and queueing the delivery log, for a
// first page of 50 out of n insertions with two properties each.
func BenchmarkDeliver(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			req := &pb.Request{
				UserInfo: &cm.UserInfo{UserId: "u1", AnonUserId: "a1"},
				UseCase:  pb.UseCase_FEED,
				Paging:   &pb.Paging{Size: 50, Starting: &pb.Paging_Offset{Offset: 0}},
			}
			for i := range n {
				rank := uint64(i)
				props, _ := structpb.NewStruct(map[string]any{"category": fmt.Sprintf("cat-%d", i%20), "price": float64(i % 90)})
				req.Insertion = append(req.Insertion, &pb.Insertion{ContentId: fmt.Sprintf("item-%d", i), RetrievalRank: &rank,
					Properties: &cm.Properties{StructField: &cm.Properties_Struct{Struct: props}}})
			}
			body, err := protojson.Marshal(req)
			if err != nil {
				b.Fatal(err)
			}
			s := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LogQueue: 1})
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Deliver(context.Background(), body, DeliverOpts{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
