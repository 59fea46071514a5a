package delivery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/weftdata/weft/internal/clip"
)

// RequestError is a body that cannot be used: Field is the path of the
// field at fault, as the client spelled it (insertion[3].contentId).
type RequestError struct {
	Field  string
	Reason string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Reason }

func fieldError(field, format string, args ...any) *RequestError {
	return &RequestError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// unmarshal reads a body of any of the three dialects into m. It decodes
// the JSON generically, rewrites the Go SDK's oneof wrappers and checks
// every known field's JSON type against m's descriptor (so that errors
// name the whole path), then lets protojson, which accepts both key
// spellings and enum names or numbers, do the real parsing. Unknown fields
// are dropped: clients send extras (Python's blenderConfig, debug).
func unmarshal(body []byte, m proto.Message) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // 64-bit ids must survive
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fieldError("body", "not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, fieldError("body", "more than one JSON value")
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		return nil, fieldError("body", "must be a JSON object, got %s", shown(tree))
	}
	if err := normalizeMessage(obj, m.ProtoReflect().Descriptor(), ""); err != nil {
		return nil, err
	}
	norm, err := json.Marshal(obj)
	if err != nil {
		return nil, fieldError("body", "%v", err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(norm, m); err != nil {
		return nil, fieldError("body", "%v", err)
	}
	return obj, nil
}

// normalizeMessage walks one JSON object of message type md, in key order
// so that the first error reported is always the same one.
func normalizeMessage(obj map[string]any, md protoreflect.MessageDescriptor, path string) error {
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return nil // Struct, ListValue, Value...: any JSON, protojson checks the rest
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fd := fieldByKey(md, k)
		if fd == nil {
			var err error
			if fd, k, err = unwrapGoOneof(obj, md, k, path); err != nil {
				return err
			}
			if fd == nil {
				continue // unknown: protojson discards it
			}
		}
		v, err := normalizeField(obj[k], fd, join(path, k))
		if err != nil {
			return err
		}
		obj[k] = v
	}
	return nil
}

func fieldByKey(md protoreflect.MessageDescriptor, k string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByJSONName(k); fd != nil {
		return fd
	}
	return md.Fields().ByName(protoreflect.Name(k))
}

// unwrapGoOneof rewrites a oneof as encoding/json writes the generated Go
// structs, {"Starting":{"Offset":5}} or {"StructField":{"Struct":{..}}},
// into the member field protojson knows, {"offset":5}. It returns the
// member and its new key, or nil when k is no oneof (an unknown field).
func unwrapGoOneof(obj map[string]any, md protoreflect.MessageDescriptor, k, path string) (protoreflect.FieldDescriptor, string, error) {
	oneofs := md.Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		od := oneofs.Get(i)
		if od.IsSynthetic() || goName(string(od.Name())) != k {
			continue
		}
		wrapper := obj[k]
		delete(obj, k)
		if wrapper == nil {
			return nil, "", nil // an unset oneof: "Starting":null
		}
		inner, ok := wrapper.(map[string]any)
		if !ok || len(inner) != 1 {
			return nil, "", fieldError(join(path, k), "want an object with one member, got %s", shown(wrapper))
		}
		for name, v := range inner {
			for j := 0; j < od.Fields().Len(); j++ {
				if fd := od.Fields().Get(j); goName(string(fd.Name())) == name {
					obj[fd.JSONName()] = v
					return fd, fd.JSONName(), nil
				}
			}
			return nil, "", fieldError(join(path, k+"."+name), "not a member of the oneof %s", od.Name())
		}
	}
	return nil, "", nil
}

// goName is the Go identifier protoc-gen-go makes of a proto name
// (struct_field becomes StructField).
func goName(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func normalizeField(v any, fd protoreflect.FieldDescriptor, path string) (any, error) {
	if v == nil {
		return nil, nil // protojson reads null as unset
	}
	switch {
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			return nil, fieldError(path, "want an array, got %s", shown(v))
		}
		for i, e := range list {
			ne, err := normalizeValue(e, fd, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			list[i] = ne
		}
		return list, nil
	case fd.IsMap():
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fieldError(path, "want an object, got %s", shown(v))
		}
		for k, e := range m {
			ne, err := normalizeValue(e, fd.MapValue(), path+"."+k)
			if err != nil {
				return nil, err
			}
			m[k] = ne
		}
		return m, nil
	}
	return normalizeValue(v, fd, path)
}

// normalizeValue checks one value's JSON type against its field's kind.
func normalizeValue(v any, fd protoreflect.FieldDescriptor, path string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if strings.HasPrefix(string(fd.Message().FullName()), "google.protobuf.") {
			return v, nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fieldError(path, "want an object, got %s", shown(v))
		}
		return obj, normalizeMessage(obj, fd.Message(), path)
	case protoreflect.StringKind, protoreflect.BytesKind:
		if _, ok := v.(string); !ok {
			return nil, fieldError(path, "want a string, got %s", shown(v))
		}
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			return nil, fieldError(path, "want true or false, got %s", shown(v))
		}
	case protoreflect.EnumKind:
		return v, checkEnum(v, fd.Enum(), path)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return v, checkFloat(v, path)
	default:
		return v, checkInt(v, fd.Kind(), path)
	}
	return v, nil
}

func checkEnum(v any, ed protoreflect.EnumDescriptor, path string) error {
	switch x := v.(type) {
	case string:
		if ed.Values().ByName(protoreflect.Name(x)) == nil {
			return fieldError(path, "%s is not a value of %s", clip.Quote(x), ed.Name())
		}
		return nil
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 32); err != nil || n < math.MinInt32 {
			return fieldError(path, "%s is not a value of %s", clip.String(string(x)), ed.Name())
		}
		return nil
	}
	return fieldError(path, "want a %s name or number, got %s", ed.Name(), shown(v))
}

func checkFloat(v any, path string) error {
	s, ok := number(v)
	if !ok {
		return fieldError(path, "want a number, got %s", shown(v))
	}
	switch s {
	case "NaN", "Infinity", "-Infinity":
		return nil
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return fieldError(path, "%s is not a number", clip.Quote(s))
	}
	return nil
}

// checkInt accepts what protojson accepts for integers: a number or a
// decimal string, within the kind's range.
func checkInt(v any, k protoreflect.Kind, path string) error {
	s, ok := number(v)
	if !ok {
		return fieldError(path, "want an integer, got %s", shown(v))
	}
	bits, unsigned := 64, false
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		bits = 32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		bits, unsigned = 32, true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		unsigned = true
	}
	var err error
	if unsigned {
		_, err = strconv.ParseUint(s, 10, bits)
	} else {
		_, err = strconv.ParseInt(s, 10, bits)
	}
	if err != nil {
		sign := "an integer"
		if unsigned {
			sign = "a non-negative integer"
		}
		return fieldError(path, "want %s of %d bits, got %s", sign, bits, clip.String(s))
	}
	return nil
}

// number is a JSON number or string as text.
func number(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return string(x), true
	case string:
		return x, true
	}
	return "", false
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// shown is a value as it was sent, cut short, for error messages.
func shown(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 40 {
		return string(b[:37]) + "..."
	}
	return string(b)
}
