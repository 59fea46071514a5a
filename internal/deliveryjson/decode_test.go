package deliveryjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Every random request, written in each dialect a client may use, must
// decode to the message protojson sees in it.
func TestDecodeRequestDialects(t *testing.T) {
	t.Parallel()
	snake := protojson.MarshalOptions{UseProtoNames: true, UseEnumNumbers: true}
	for seed := range uint64(1500) {
		want := newGen(seed).request()
		canonical, err := protojson.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		assertDecodes(t, "canonical", canonical, want)
		snaked, err := snake.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		assertDecodes(t, "snake", snaked, want)
		goForm, err := json.Marshal(want)
		if err != nil {
			continue // NaN or Infinity: encoding/json cannot write them
		}
		assertDecodes(t, "go", goForm, protojsonOfGoForm(t, goForm))
	}
}

func assertDecodes(t *testing.T, dialect string, data []byte, want *delivery.Request) {
	t.Helper()
	var got delivery.Request
	if err := DecodeRequest(data, &got); err != nil {
		t.Fatalf("%s: %v\ninput: %s", dialect, err, data)
	}
	if !proto.Equal(&got, want) {
		t.Fatalf("%s: decoded\n%v\nwant\n%v\ninput: %s", dialect, &got, want, data)
	}
}

// protojsonOfGoForm is what the handler's reference path does with a Go
// SDK body: rewrite the oneof wrappers, then protojson with DiscardUnknown.
func protojsonOfGoForm(t *testing.T, data []byte) *delivery.Request {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	rewritten, err := json.Marshal(unwrapOneofs(v))
	if err != nil {
		t.Fatal(err)
	}
	var req delivery.Request
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(rewritten, &req); err != nil {
		t.Fatalf("protojson: %v\n%s", err, rewritten)
	}
	return &req
}

// unwrapOneofs lifts Starting.{Offset,Cursor} and
// StructField.{Struct,StructBytes} into their parent, lowercasing the first
// letter. The generator never makes Struct keys with these names.
func unwrapOneofs(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			inner, ok := e.(map[string]any)
			if (k == "Starting" || k == "StructField") && ok {
				for ik, ie := range inner {
					out[strings.ToLower(ik[:1])+ik[1:]] = unwrapOneofs(ie)
				}
				continue
			}
			out[k] = unwrapOneofs(e)
		}
		return out
	case []any:
		for i := range v {
			v[i] = unwrapOneofs(v[i])
		}
	}
	return v
}

// The Go SDK's own example body (spec §4.1) and its canonical twin.
func TestDecodeRequestSpecExamples(t *testing.T) {
	t.Parallel()
	goBody := `{"user_info":{"anon_user_id":"anon"},"timing":{"client_log_timestamp":1795347240269},
 "client_info":{"client_type":1,"traffic_type":1},"client_request_id":"088b",
 "use_case":2,"search_query":"q","paging":{"size":2,"Starting":{"Offset":0}},
 "insertion":[{"content_id":"1","properties":{"StructField":{"Struct":{"price":100}}},"retrieval_rank":1},{"content_id":"2"}]}`
	canonical := `{"userInfo":{"anonUserId":"anon"},"timing":{"clientLogTimestamp":"1795347240269"},"clientInfo":{"clientType":"PLATFORM_SERVER","trafficType":"PRODUCTION"},"clientRequestId":"088b","useCase":"SEARCH","searchQuery":"q","paging":{"size":2,"offset":0},"insertion":[{"contentId":"1","properties":{"struct":{"price":100}},"retrievalRank":"1"},{"contentId":"2"}]}`
	var want delivery.Request
	if err := protojson.Unmarshal([]byte(canonical), &want); err != nil {
		t.Fatal(err)
	}
	assertDecodes(t, "canonical", []byte(canonical), &want)
	assertDecodes(t, "go", []byte(goBody), &want)
}

func TestDecodeRequestSkipsUnknown(t *testing.T) {
	t.Parallel()
	body := `{"blenderConfig":{"blenderRule":[{"attributeName":"x","weight":[1,2.5e3,{"a":null}]}]},
		"debug":true, "userInfo":{"anonUserId":"a","nickname":"\u00e9\ud83d\ude00"},
		"insertion":[{"contentId":"c","extra":[[],{}],"properties":{"StructField":{"Struct":{"k":"v"},"Other":1},"color":"red"}}],
		"paging":{"Starting":{"Offset":3,"Limit":9}},"zzz":null}`
	want := `{"userInfo":{"anonUserId":"a"},"insertion":[{"contentId":"c","properties":{"struct":{"k":"v"}}}],"paging":{"offset":3}}`
	var wantReq delivery.Request
	if err := protojson.Unmarshal([]byte(want), &wantReq); err != nil {
		t.Fatal(err)
	}
	assertDecodes(t, "unknown", []byte(body), &wantReq)
}

// Values in every form protojson accepts decode to what protojson makes.
func TestDecodeRequestValueForms(t *testing.T) {
	t.Parallel()
	cases := []string{
		`{"platformId":"18446744073709551615"}`, `{"platformId":1e2}`, `{"platformId":"1.0"}`,
		`{"platformId":100e-2}`, `{"platformId":-0}`, `{"platformId":0.5e1}`, `{"platformId":"\u0031"}`,
		`{"paging":{"size":-2147483648,"offset":"-7"}}`, `{"paging":{"size":2.0e0}}`,
		`{"useCase":"FEED"}`, `{"useCase":4}`, `{"useCase":"NOT_A_CASE"}`, `{"useCase":-3}`,
		`{"useCase":"4"}`, `{"clientInfo":{"clientType":"PLATFORM_CLIENT","trafficType":4}}`,
		`{"device":{"deviceType":"TABLET","screen":{"scale":"NaN","size":{"width":"4294967295"}}}}`,
		`{"device":{"screen":{"scale":"-Infinity"},"location":{"latitude":"1e3","longitude":-0.0}}}`,
		`{"device":{"location":{"accuracyInMeters":"Infinity","latitude":1.7976931348623157e308}}}`,
		`{"insertion":[{"retrievalScore":3.4028234e38,"position":"0","retrievalRank":0}]}`,
		`{"properties":{"structBytes":"aGk"}}`, `{"properties":{"structBytes":"-_8="}}`,
		`{"properties":{"structBytes":""}}`, `{"properties":{"struct":null}}`,
		`{"properties":{"struct":{"a":null,"b":[null,true,1e-400,"x"],"c":{}}}}`,
		`{"insertionMatrix":[["a",1],[null]],"insertionMatrixHeaders":["contentId","x.y"]}`,
		`{"searchQuery":"\ud83d\ude00\u00e9\/\b\f\n\r\t\"\\"}`, ` {"viewId" : "v" } `,
		`{"userInfo":null,"timing":null,"insertion":null,"paging":{"offset":null}}`,
		`{"disablePersonalization":false,"disable_personalization":true}`,
	}
	for _, body := range cases {
		var want delivery.Request
		err := protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal([]byte(body), &want)
		if err != nil && !strings.Contains(err.Error(), "duplicate field") {
			t.Fatalf("protojson %s: %v", body, err)
		}
		if err != nil {
			want.DisablePersonalization = true // last wins
		}
		assertDecodes(t, "form", []byte(body), &want)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ body, want string }{
		{`{"insertion":[{},{},{},{"retrievalRank":true}]}`,
			`insertion[3].retrievalRank: want a number or a numeric string, got true`},
		{`{"paging":{"size":2147483648}}`, `paging.size: 2147483648 overflows int32`},
		{`{"paging":{"Starting":{"Offset":"2147483648"}}}`, `paging.Starting.Offset: "2147483648" overflows int32`},
		{`{"platform_id":-1}`, `platform_id: -1 overflows uint64`},
		{`{"platformId":18446744073709551616}`, `platformId: 18446744073709551616 overflows uint64`},
		{`{"platformId":1.5}`, `platformId: 1.5 is not an integer`},
		{`{"platformId":" 1"}`, `platformId: want a number or a numeric string, got " 1"`},
		{`{"platformId":"0x10"}`, `platformId: want a number or a numeric string, got "0x10"`},
		{`{"insertion":{}}`, `insertion: want an array, got an object`},
		{`{"insertion":[null]}`, `insertion[0]: want an object, got null`},
		{`{"insertionMatrixHeaders":["a",1]}`, `insertionMatrixHeaders[1]: want a string, got 1`},
		{`{"userInfo":{"anonUserId":7}}`, `userInfo.anonUserId: want a string, got 7`},
		{`{"disablePersonalization":"true"}`, `disablePersonalization: want true or false, got "true"`},
		{`{"useCase":true}`, `useCase: want an enum name or number, got true`},
		{`{"useCase":2147483648}`, `useCase: 2147483648 overflows int32`},
		{`{"device":{"screen":{"scale":1e39}}}`, `device.screen.scale: 1e39 overflows float32`},
		{`{"properties":{"struct":{"a":[1,1e400]}}}`, `properties.struct.a[1]: 1e400 overflows float64`},
		{`{"properties":{"structBytes":"!!"}}`, `properties.structBytes: invalid base64 in "!!"`},
		{`{"properties":{"struct":[]}}`, `properties.struct: want an object, got an array`},
		{`[]`, `want an object, got an array`},
		{``, `unexpected end of input at byte 0`},
		{`{"viewId":"v"`, `unexpected end of input at byte 13`},
		{`{"viewId":"v"}x`, `invalid character 'x' at byte 14`},
		{`{"viewId":"v",}`, `invalid character '}' at byte 14`},
		{`{"viewId":"a` + "\xff" + `"}`, `viewId: invalid UTF-8 in string at byte 12`},
		{`{"viewId":"a` + "\n" + `"}`, `viewId: invalid character '\n' at byte 12`},
		{`{"viewId":"\ud800x"}`, `viewId: invalid escape "\\ud800" at byte 11`},
		{`{"viewId":"\q"}`, `viewId: invalid character 'q' at byte 12`},
		{`{"x":[01]}`, `x: invalid character '1' at byte 7`},
		{`{"x":tru}`, `x: invalid character '}' at byte 8`},
		{`{"device":{"browser":{"clientHints":{"brand":[{"brand":{}}]}}}}`,
			`device.browser.clientHints.brand[0].brand: want a string, got an object`},
	}
	for _, c := range cases {
		var req delivery.Request
		err := DecodeRequest([]byte(c.body), &req)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.body, err, c.want)
		}
	}
}

func TestDecodeRequestDepthLimit(t *testing.T) {
	t.Parallel()
	deep := `{"properties":{"struct":{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}}}`
	err := DecodeRequest([]byte(deep), &delivery.Request{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("nesting deeper than %d", maxDepth)) {
		t.Fatalf("got %v", err)
	}
}
