package deliveryjson

import (
	"encoding/json"
	"testing"

	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// FuzzDecodeRequest checks that DecodeRequest never panics and accepts,
// with the same result, every body protojson (with DiscardUnknown) accepts.
// Bodies using the Go SDK's wrapper keys are left out of the comparison:
// protojson drops them as unknown while DecodeRequest reads them.
func FuzzDecodeRequest(f *testing.F) {
	for seed := range uint64(40) {
		if data, err := protojson.Marshal(newGen(seed).request()); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"paging":{"Starting":{"Offset":1}},"platformId":"1e1"}`))
	f.Add([]byte(`{"properties":{"struct":{"a":[1,{"b":null}]}},"useCase":"X"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got delivery.Request
		gotErr := DecodeRequest(data, &got)
		var want delivery.Request
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &want); err != nil {
			return
		}
		if hasWrapperKey(data) {
			return
		}
		if gotErr != nil {
			t.Fatalf("protojson accepts, DecodeRequest: %v\ninput: %q", gotErr, data)
		}
		if !proto.Equal(&got, &want) {
			t.Fatalf("decoded\n%v\nprotojson\n%v\ninput: %q", &got, &want, data)
		}
	})
}

func hasWrapperKey(data []byte) bool {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return true
	}
	return findKey(v)
}

func findKey(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "Starting" || k == "StructField" || findKey(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if findKey(e) {
				return true
			}
		}
	}
	return false
}
