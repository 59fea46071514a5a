// Package deliveryjson reads and writes the JSON bodies of Weft's Delivery
// API (POST /deliver) without protojson or reflection.
//
// protojson spends most of its time in reflection and per-token allocation:
// a 1,000-insertion request costs about 3 ms and 40,000 allocations, which
// does not fit the latency budget of the delivery path. This package fills
// the generated promotedai/schema structs directly from a hand-written
// scanner and writes responses with append-style encoding.
//
// # Decoding
//
// DecodeRequest accepts, at once, the three dialects clients send (see the
// spec, §4.1):
//
//   - canonical proto3 JSON (Java, Python, TypeScript, curl): lowerCamel
//     keys, enum names, 64-bit integers as strings;
//   - snake_case keys (the proto names) and enum numbers, which protojson
//     also accepts;
//   - the Go SDK's encoding/json form: snake_case keys, enum numbers,
//     64-bit integers as numbers, and the oneof wrappers
//     "Starting":{"Offset":N} / {"Cursor":"c"} in paging and
//     "StructField":{"Struct":{...}} / {"StructBytes":"base64"} in
//     properties. The Go SDK's google.protobuf.Struct and ListValue values
//     carry MarshalJSON methods, so they arrive as plain JSON objects and
//     arrays, exactly as in the other dialects.
//
// Values follow protojson's rules: integers as numbers or numeric strings
// (1e2 and 3.0 count as integers, 1.5 does not); floats as numbers or
// strings including "NaN", "Infinity" and "-Infinity"; enums as names or
// int32 numbers; bytes as standard or URL-safe base64 with or without
// padding; strings must be valid UTF-8.
//
// Where this package deliberately differs from protojson:
//
//   - Unknown keys are skipped at any depth (protojson's DiscardUnknown),
//     but their values are still checked to be valid JSON.
//   - An unknown enum name leaves the field unset, as protojson does with
//     DiscardUnknown, so old servers accept newer clients' enums.
//   - Duplicate keys, both spellings of one field, or both members of a
//     oneof are accepted and the last one wins; protojson rejects them.
//     Inside a google.protobuf.Struct a repeated key also keeps the last
//     value.
//   - null means "absent" for every field: it leaves the field as it was.
//     Inside Struct and ListValue, null is a google.protobuf.NullValue.
//
// Decoded strings without escapes share one copy of the body, which saves
// an allocation per string; a caller that keeps a few of them long after
// the request should strings.Clone them, or the whole body stays alive.
//
// Errors are *Error values naming the path of the bad field, using the
// keys as the client spelled them, for example
// "insertion[3].retrievalRank: want a number or a numeric string, got true".
//
// # Encoding
//
// AppendResponse writes canonical proto3 JSON for a delivery.Response, the
// form protojson.Marshal produces: lowerCamel keys, unpopulated fields
// omitted, 64-bit integers as strings, properties as {"struct":{...}}. Map
// keys of google.protobuf.Struct are written in sorted order.
package deliveryjson
