package deliveryjson

import (
	"math"
	"testing"

	"github.com/promotedai/schema/generated/go/proto/common"
	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// Every random response must survive strict protojson unchanged.
func TestAppendResponseRoundTrip(t *testing.T) {
	t.Parallel()
	for seed := range uint64(1500) {
		want := newGen(seed).response()
		data := AppendResponse(nil, want)
		var got delivery.Response
		if err := protojson.Unmarshal(data, &got); err != nil {
			t.Fatalf("seed %d: protojson: %v\n%s", seed, err, data)
		}
		if !proto.Equal(&got, want) {
			t.Fatalf("seed %d: got\n%v\nwant\n%v\njson: %s", seed, &got, want, data)
		}
	}
}

func TestAppendResponseExact(t *testing.T) {
	t.Parallel()
	pos, rank, score, intro := uint64(0), uint64(18446744073709551615), float32(0.5), ""
	resp := &delivery.Response{
		Insertion: []*delivery.Insertion{
			{InsertionId: "i1", ContentId: "c\"1\"\x01</", Position: &pos},
			{ContentId: "c2", RetrievalRank: &rank, RetrievalScore: &score,
				ClientInfo: &common.ClientInfo{ClientType: 1, TrafficType: 3},
				Properties: &common.Properties{StructField: &common.Properties_Struct{Struct: &structpb.Struct{
					Fields: map[string]*structpb.Value{"b": structpb.NewNumberValue(1e21),
						"a": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
							structpb.NewNullValue(), structpb.NewBoolValue(true),
							structpb.NewNumberValue(math.NaN())}})}}}}},
		},
		PagingInfo:        &delivery.PagingInfo{Cursor: "2"},
		IntrospectionData: &intro,
		RequestId:         "r\xff",
	}
	want := `{"insertion":[{"insertionId":"i1","contentId":"c\"1\"\u0001</","position":"0"},` +
		`{"clientInfo":{"clientType":"PLATFORM_SERVER","trafficType":3},"contentId":"c2",` +
		`"properties":{"struct":{"a":[null,true,null],"b":1e+21}},` +
		`"retrievalRank":"18446744073709551615","retrievalScore":0.5}],` +
		`"pagingInfo":{"cursor":"2"},"introspectionData":"","requestId":"r` + "\ufffd" + `"}`
	if got := string(AppendResponse([]byte("x"), resp)); got != "x"+want {
		t.Fatalf("got\n%s\nwant\nx%s", got, want)
	}
}

func TestAppendResponseEmpty(t *testing.T) {
	t.Parallel()
	if got := string(AppendResponse(nil, &delivery.Response{})); got != "{}" {
		t.Fatalf("got %s", got)
	}
}
