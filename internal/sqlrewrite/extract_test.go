package sqlrewrite

import (
	"reflect"
	"testing"
)

func TestExtractOnce(t *testing.T) {
	for _, c := range []struct {
		in, want string
		keys     []string
	}{
		{"payload->>'url'", "(struct_extract_at(weft_json, 1))", []string{"url"}},
		{"lower(trim(payload->>'email'))", "lower(trim((struct_extract_at(weft_json, 1))))", []string{"email"}},
		{"payload->>'email' IS NOT NULL AND payload ->> 'url' = 'x'", "(struct_extract_at(weft_json, 1)) IS NOT NULL AND (struct_extract_at(weft_json, 2)) = 'x'", []string{"email", "url"}},
		{"coalesce(payload->>'a', payload->>'b', payload->>'a')", "coalesce((struct_extract_at(weft_json, 1)), (struct_extract_at(weft_json, 2)), (struct_extract_at(weft_json, 1)))", []string{"a", "b"}},
		{"(payload->>'total')::numeric", "((struct_extract_at(weft_json, 1)))::numeric", []string{"total"}},
		{"CASE WHEN payload->>'a' = 'x' THEN payload->>'b' END", "CASE WHEN (struct_extract_at(weft_json, 1)) = 'x' THEN (struct_extract_at(weft_json, 2)) END", []string{"a", "b"}},
		// Left as written: other operators might bind differently, or the
		// key is not a plain one, or it is not the payload column.
		{"payload->>'n'::int", "payload->>'n'::int", nil},
		{"'x' || payload->>'a'", "'x' || payload->>'a'", nil},
		{"payload->>'a' - 1", "payload->>'a' - 1", nil},
		{"payload->'items'", "payload->'items'", nil},
		{"payload->>'$.a.b'", "payload->>'$.a.b'", nil},
		{"e.payload->>'a'", "e.payload->>'a'", nil},
		{"my_payload->>'a'", "my_payload->>'a'", nil},
		{"'payload->>''a'''", "'payload->>''a'''", nil},
		{"payload->>'a'->>'b'", "payload->>'a'->>'b'", nil},
	} {
		var keys []string
		if got := ExtractOnce(c.in, "payload", &keys); got != c.want || !reflect.DeepEqual(keys, c.keys) {
			t.Errorf("ExtractOnce(%q) = %q %v, want %q %v", c.in, got, keys, c.want, c.keys)
		}
	}
}

func TestElementsOnce(t *testing.T) {
	for in, want := range map[string]string{
		"jsonb_array_elements(payload->'products')":      "unnest(json_extract(payload, '$.products[*]'))",
		"JSON_ARRAY_ELEMENTS( payload -> 'Items_2' )":    "unnest(json_extract(payload, '$.Items_2[*]'))",
		"jsonb_array_elements(payload->>'products')":     "jsonb_array_elements(payload->>'products')",
		"jsonb_array_elements(payload->'a'->'b')":        "jsonb_array_elements(payload->'a'->'b')",
		"jsonb_array_elements(e.payload->'products')":    "jsonb_array_elements(e.payload->'products')",
		"jsonb_array_elements(payload->'1st')":           "jsonb_array_elements(payload->'1st')",
		"jsonb_array_elements_text(payload->'products')": "jsonb_array_elements_text(payload->'products')",
	} {
		if got := ArrayElementsOnce(in); got != want {
			t.Errorf("ArrayElementsOnce(%q) = %q, want %q", in, got, want)
		}
	}
}
