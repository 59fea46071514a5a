package blobimport

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/weftdata/weft/job"
)

func TestParseParams(t *testing.T) {
	t.Parallel()
	base := func(kv ...any) map[string]any {
		m := map[string]any{"source": "file:///data/in", "format": "ndjson", "target": "events"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	bad := []struct {
		name    string
		params  map[string]any
		wantErr string
	}{
		{"no source", base("source", nil), "parameter source: required"},
		{"source not a string", base("source", 3.0), "parameter source: must be a string"},
		{"bad scheme", base("source", "gs://bucket/x"), `parameter source: unsupported scheme "gs" (use file, s3 or azblob)`},
		{"no scheme", base("source", "/data/in"), "has no scheme"},
		{"s3 without bucket", base("source", "s3:///x"), "s3 URL needs a bucket"},
		{"credentials in URL", base("source", "s3://key:secret@bucket/x"), "credentials in the URL"},
		{"file root", base("source", "file:///"), "file URL needs a directory"},
		{"unknown format", base("format", "xml"), `parameter format: unknown format "xml" (use json, ndjson or csv)`},
		{"no format", base("format", nil), "parameter format: required"},
		{"unknown target", base("target", "profiles"), `parameter target: unknown target "profiles" (use events or objects:<type>)`},
		{"bad object type", base("target", "objects:Stores"), `parameter target: object type "Stores" must match`},
		{"empty object type", base("target", "objects:"), `parameter target: object type ""`},
		{"unknown parameter", base("sourse", "x"), "parameter sourse: unknown parameter"},
		{"bad batch size", base("batch_size", 0.5), "parameter batch_size: 0.5 is not a whole number"},
		{"mapping not an object", base("mapping", []any{"a"}), "parameter mapping: must be an object"},
		{"mapping empty", base("mapping", map[string]any{}), "parameter mapping: is empty"},
		{"mapping bad JSON string", base("mapping", "{"), "parameter mapping: must be a JSON object"},
		{"mapping field and value", base("mapping", map[string]any{"a": map[string]any{"field": "x", "value": 1.0}}), "a: give either field or value"},
		{"mapping unknown key", base("mapping", map[string]any{"a": map[string]any{"from": "x"}}), `a: unknown key "from"`},
		{"mapping unknown type", base("mapping", map[string]any{"a": map[string]any{"field": "x", "type": "date"}}), "a: unknown type date"},
		{"mapping overlap", base("mapping", map[string]any{"payload": "p", "payload.a": "x"}), "target fields payload and payload.a overlap"},
		{"mapping empty part", base("mapping", map[string]any{"payload..a": "x"}), "has an empty part"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseMap(tc.params)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if !errors.Is(err, ErrBadParam) {
				t.Fatalf("%v is not ErrBadParam", err)
			}
		})
	}

	good := []struct {
		name      string
		params    map[string]any
		bucketURL string
		prefix    string
		batch     int
	}{
		{"file", base(), "file:///data/in", "", EventBatchDefault},
		{"s3 with prefix", base("source", "s3://bkt/exports/daily/?endpoint=http://127.0.0.1:9000&use_path_style=true"),
			"s3://bkt?endpoint=http://127.0.0.1:9000&use_path_style=true", "exports/daily/", EventBatchDefault},
		{"azblob without prefix", base("source", "azblob://stores", "target", "objects:offline_stores", "format", "JSON"), "azblob://stores", "", ObjectBatchDefault},
		{"batch size", base("batch_size", "500"), "file:///data/in", "", 500},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := parseMap(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if p.bucketURL != tc.bucketURL || p.prefix != tc.prefix || p.BatchSize != tc.batch {
				t.Fatalf("got %q %q %d", p.bucketURL, p.prefix, p.BatchSize)
			}
		})
	}
}

// parseMap decodes parameters as the runtime does, then parses them.
func parseMap(m map[string]any) (*Params, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	a, err := job.ParamsOf[Args](b)
	if err != nil {
		return nil, err
	}
	return ParseParams(a)
}

func TestCursorKey(t *testing.T) {
	t.Parallel()
	a := CursorKey("s3://b/x?region=eu&endpoint=e", "events")
	if b := CursorKey("s3://b/x?endpoint=e&region=eu", "events"); a != b {
		t.Fatalf("query order changes the key: %s %s", a, b)
	}
	if b := CursorKey("s3://b/x?endpoint=e&region=eu", "objects:stores"); a == b {
		t.Fatal("the target does not change the key")
	}
	if b := CursorKey("s3://b/y?endpoint=e&region=eu", "events"); a == b {
		t.Fatal("the prefix does not change the key")
	}
	if !strings.HasPrefix(a, "blob_import:") || len(a) != len("blob_import:")+32 {
		t.Fatalf("key %q", a)
	}
}

func TestMapping(t *testing.T) {
	t.Parallel()
	spec := map[string]any{
		"id":             "Order ID",
		"type":           map[string]any{"value": "purchase"},
		"payload.total":  map[string]any{"field": "Total", "type": "number"},
		"payload.paid":   map[string]any{"field": "Paid", "type": "boolean"},
		"payload.city":   "address.city",
		"payload.note":   "Note",
		"payload.code":   map[string]any{"field": "Code", "type": "string"},
		"payload.absent": "Nowhere",
	}
	m, err := ParseMapping(spec)
	if err != nil {
		t.Fatal(err)
	}
	m.exactNumbers = true
	src := map[string]any{
		"Order ID": "o-1", "Total": "12.50", "Paid": "yes", "address": map[string]any{"city": "Brno"},
		"Note": "", "Code": json.Number("0042"),
	}
	got, err := m.Apply(src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": "o-1", "type": "purchase",
		"payload": map[string]any{"total": json.Number("12.50"), "paid": true, "city": "Brno", "note": "", "code": "0042"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}

	m.exactNumbers = false
	got, _ = m.Apply(map[string]any{"Total": " 3 ", "Paid": ""})
	if p := got["payload"].(map[string]any); p["total"] != 3.0 || p["paid"] != nil {
		t.Fatalf("got %#v", got)
	}
	if _, err := m.Apply(map[string]any{"Total": "12,50"}); err == nil || err.Error() != `field Total: "12,50" is not a number` {
		t.Fatalf("error %v", err)
	}
	if _, err := m.Apply(map[string]any{"Paid": "maybe"}); err == nil || err.Error() != `field Paid: "maybe" is not a boolean` {
		t.Fatalf("error %v", err)
	}

	// A mapping given as a JSON string, as the CLI's --param passes it.
	if _, err := ParseMapping(`{"email": "Email"}`); err != nil {
		t.Fatal(err)
	}
}
