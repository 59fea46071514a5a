package delivery

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// sampleRequest is spec 4.1's example request.
func sampleRequest(t *testing.T) *pb.Request {
	t.Helper()
	props, err := structpb.NewStruct(map[string]any{"price": 100, "tags": []any{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	rank := uint64(1)
	return &pb.Request{
		UserInfo:        &cm.UserInfo{AnonUserId: "anon", UserId: "u1"},
		Timing:          &cm.Timing{ClientLogTimestamp: 1795347240269},
		ClientInfo:      &cm.ClientInfo{ClientType: cm.ClientInfo_PLATFORM_SERVER, TrafficType: cm.ClientInfo_PRODUCTION},
		ClientRequestId: "088b-e138",
		PlatformId:      18446744073709551615, // beyond float64 precision
		UseCase:         pb.UseCase_SEARCH,
		SearchQuery:     "q",
		Paging:          &pb.Paging{Size: 2, Starting: &pb.Paging_Offset{Offset: 3}},
		Insertion: []*pb.Insertion{
			{ContentId: "1", RetrievalRank: &rank, Properties: &cm.Properties{StructField: &cm.Properties_Struct{Struct: props}}},
			{ContentId: "2", Properties: &cm.Properties{StructField: &cm.Properties_StructBytes{StructBytes: []byte(`{"x":1}`)}}},
		},
	}
}

// TestDecodeDialects reads the Go SDK's encoding/json form and the
// canonical protojson form of the same request into the same message.
func TestDecodeDialects(t *testing.T) {
	want := sampleRequest(t)
	goBody, err := json.Marshal(want) // exactly as the Go SDK encodes
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(goBody), `"Starting":{"Offset":3}`) || !strings.Contains(string(goBody), `"StructField":{"Struct":`) {
		t.Fatalf("not the Go SDK dialect: %s", goBody)
	}
	canonical, err := protojson.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"go": goBody, "canonical": canonical} {
		t.Run(name, func(t *testing.T) {
			got, debug, err := decodeRequest(body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if debug || !proto.Equal(got, want) {
				t.Fatalf("decoded %v (debug %v), want %v", got, debug, want)
			}
		})
	}
}

// TestDecodePython reads lowerCamel keys with numeric enums, an insertion
// matrix overriding insertion, and extra keys.
func TestDecodePython(t *testing.T) {
	body := `{"userInfo":{"anonUserId":"a"},"useCase":4,"clientInfo":{"clientType":1,"trafficType":4},
		"paging":{"size":2,"cursor":"4","pagingId":"p"},"blenderConfig":{"x":1},"debug":true,
		"insertion":[{"contentId":"ignored"}],
		"insertionMatrixHeaders":["contentId","retrievalRank","retrievalScore","price","shop.name"],
		"insertionMatrix":[["c1",2,0.5,10,"s1"],[7,null,null,null,"s2"]]}`
	got, debug, err := decodeRequest([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !debug || got.UseCase != pb.UseCase_FEED || got.ClientInfo.TrafficType != cm.ClientInfo_SHADOW || got.Paging.GetCursor() != "4" {
		t.Fatalf("decoded %v (debug %v)", got, debug)
	}
	if len(got.Insertion) != 2 {
		t.Fatalf("insertions %v", got.Insertion)
	}
	first, second := got.Insertion[0], got.Insertion[1]
	if first.ContentId != "c1" || first.GetRetrievalRank() != 2 || first.GetRetrievalScore() != 0.5 {
		t.Errorf("first row %v", first)
	}
	props, _ := json.Marshal(first.GetProperties().GetStruct().AsMap())
	if string(props) != `{"price":10,"shop":{"name":"s1"}}` {
		t.Errorf("first row properties %s", props)
	}
	if second.ContentId != "7" || second.RetrievalRank != nil {
		t.Errorf("second row %v", second)
	}
}

// TestDecodeLenient: what protojson with DiscardUnknown, and Promoted's
// own server, let through is let through: an enum name of a newer schema
// (left unset, so the default use case ranks) and an unknown member of a
// Go-SDK oneof wrapper (dropped with the other unknown fields).
func TestDecodeLenient(t *testing.T) {
	req, _, err := decodeRequest([]byte(`{"useCase":"NEWER_CASE","paging":{"size":2,"Starting":{"Page":5}},"insertion":[{"contentId":"a"}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.UseCase != pb.UseCase_UNKNOWN_USE_CASE || req.GetPaging().GetSize() != 2 || req.GetPaging().GetStarting() != nil {
		t.Errorf("decoded %v", req)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"not json", `{"insertion":`, "body: not valid JSON"},
		{"array", `[]`, "body: must be a JSON object, got []"},
		{"two values", `{} {}`, "body: more than one JSON value"},
		{"empty contentId", `{"insertion":[{"contentId":"a"},{"contentId":"b"},{"contentId":"c"},{"contentId":""}]}`, "insertion[3].contentId: contentId is required"},
		{"missing contentId", `{"insertion":[{"retrievalRank":1}]}`, "insertion[0].contentId: contentId is required"},
		{"contentId a number", `{"insertion":[{"content_id":5}]}`, "insertion[0].content_id: want a string, got 5"},
		{"insertion an object", `{"insertion":{}}`, "insertion: want an array, got {}"},
		{"negative rank", `{"insertion":[{"contentId":"a","retrievalRank":-1}]}`, "insertion[0].retrievalRank: want a non-negative integer of 64 bits"},
		{"size too big", `{"paging":{"size":3000000000}}`, "paging.size: want an integer of 32 bits"},
		{"bad enum type", `{"use_case":true}`, "use_case: want a UseCase name or number, got true"},
		{"userInfo a string", `{"userInfo":"u"}`, `userInfo: want an object, got "u"`},
		{"go oneof not an object", `{"paging":{"Starting":5}}`, "paging.Starting: want an object with one member"},
		{"go oneof offset a string", `{"paging":{"Starting":{"Offset":"x"}}}`, "paging.offset: want an integer of 32 bits, got x"},
		{"matrix row length", `{"insertionMatrixHeaders":["contentId","a"],"insertionMatrix":[["x",1],["y"]]}`, "insertionMatrix[1]: has 1 values but there are 2 headers"},
		{"matrix row not array", `{"insertionMatrixHeaders":["contentId"],"insertionMatrix":["x"]}`, "insertionMatrix[0]: want an array of 1 values"},
		{"matrix without headers", `{"insertionMatrix":[["x"]]}`, "insertionMatrixHeaders: required with insertionMatrix"},
		{"matrix empty content", `{"insertionMatrixHeaders":["contentId"],"insertionMatrix":[["x"],[null]]}`, "insertionMatrix[1]: contentId is required"},
		{"matrix rank text", `{"insertionMatrixHeaders":["contentId","retrievalRank"],"insertionMatrix":[["x","1"]]}`, "insertionMatrix[0][1] (retrievalRank): want a number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := decodeRequest([]byte(c.body), nil)
			var re *RequestError
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one with %q", err, c.want)
			}
			if !errors.As(err, &re) {
				t.Fatalf("error %T is not a *RequestError", err)
			}
		})
	}
}

// TestDecodeKeepsUserData leaves keys that look like Go oneofs alone
// inside properties, which are the user's data.
func TestDecodeKeepsUserData(t *testing.T) {
	body := `{"insertion":[{"contentId":"a","properties":{"struct":{"Starting":{"Offset":1},"StructField":2}}}]}`
	got, _, err := decodeRequest([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	props, _ := json.Marshal(got.Insertion[0].GetProperties().GetStruct().AsMap())
	if string(props) != `{"Starting":{"Offset":1},"StructField":2}` {
		t.Fatalf("properties %s", props)
	}
}
