package deliveryjson

import (
	"testing"

	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestDecodeRequestKeeping(t *testing.T) {
	bodies := map[string]string{
		"canonical": `{"properties":{"struct":{"category":"req","price":1}},"insertion":[
			{"contentId":"a","properties":{"struct":{"category":"shoes","price":10,"tags":["x"],"meta":{"category":"inner","size":3}}}},
			{"contentId":"b","properties":{"struct":{"price":12}}},
			{"contentId":"c","properties":{"structBytes":"AAE="}}]}`,
		"go": `{"properties":{"StructField":{"Struct":{"category":"req","price":1}}},"insertion":[
			{"content_id":"a","properties":{"StructField":{"Struct":{"category":"shoes","price":10,"tags":["x"],"meta":{"category":"inner","size":3}}}}},
			{"content_id":"b","properties":{"StructField":{"Struct":{"price":12}}}},
			{"content_id":"c","properties":{"StructField":{"StructBytes":"AAE="}}}]}`,
	}
	// What keeping category and meta leaves: the request's properties
	// whole, each insertion's struct without price and tags, nested
	// structs whole.
	want := &delivery.Request{}
	if err := protojson.Unmarshal([]byte(`{"properties":{"struct":{"category":"req","price":1}},"insertion":[
		{"contentId":"a","properties":{"struct":{"category":"shoes","meta":{"category":"inner","size":3}}}},
		{"contentId":"b","properties":{"struct":{}}},
		{"contentId":"c","properties":{"structBytes":"AAE="}}]}`), want); err != nil {
		t.Fatal(err)
	}
	for name, body := range bodies {
		var got delivery.Request
		if err := DecodeRequestKeeping([]byte(body), &got, map[string]bool{"category": true, "meta": true}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !proto.Equal(&got, want) {
			t.Errorf("%s: got %v\nwant %v", name, &got, want)
		}
		// Dropped values are still checked.
		bad := []byte(`{"insertion":[{"contentId":"a","properties":{"struct":{"price":[1,}}}]}`)
		if err := DecodeRequestKeeping(bad, &got, map[string]bool{"category": true}); err == nil {
			t.Errorf("%s: a malformed dropped value was accepted", name)
		}
	}
	// nil keeps everything.
	var all delivery.Request
	if err := DecodeRequestKeeping([]byte(bodies["canonical"]), &all, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(all.Insertion[0].GetProperties().GetStruct().GetFields()); n != 4 {
		t.Errorf("nil keep: %d fields, want 4", n)
	}
}
