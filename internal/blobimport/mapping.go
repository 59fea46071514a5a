package blobimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Mapping builds a target record from a file's record, field by field.
// See the package documentation for its JSON form.
type Mapping struct {
	fields []fieldMapping
	// numbers decides how converted numbers are represented: json.Number
	// keeps them as written (events), float64 is what object fields take.
	exactNumbers bool
}

type fieldMapping struct {
	target []string // path into the record built
	source string   // field of the file's record; "" for a constant
	value  any      // the constant
	typ    string   // conversion: "", "string", "number", "boolean"
}

// ParseMapping reads a mapping: a JSON object (or a string holding one)
// from target field to a source field name, or to an object
// {"field": name, "type": t} or {"value": constant}.
func ParseMapping(v any) (*Mapping, error) {
	if s, ok := v.(string); ok {
		var obj map[string]any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			return nil, fmt.Errorf("must be a JSON object: %w", err)
		}
		v = obj
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be an object from target field to source field, not %T", v)
	}
	if len(obj) == 0 {
		return nil, errors.New("is empty: leave it out to import records as they are")
	}
	targets := make([]string, 0, len(obj))
	for k := range obj {
		targets = append(targets, k)
	}
	sort.Strings(targets)
	m := &Mapping{}
	for _, target := range targets {
		f := fieldMapping{target: strings.Split(target, ".")}
		for _, part := range f.target {
			if part == "" {
				return nil, fmt.Errorf("target field %q has an empty part", target)
			}
		}
		switch spec := obj[target].(type) {
		case string:
			if spec == "" {
				return nil, fmt.Errorf("%s: source field is empty", target)
			}
			f.source = spec
		case map[string]any:
			for k := range spec {
				if k != "field" && k != "value" && k != "type" {
					return nil, fmt.Errorf("%s: unknown key %q (use field, type or value)", target, k)
				}
			}
			value, hasValue := spec["value"]
			field, hasField := spec["field"]
			switch {
			case hasValue && hasField:
				return nil, fmt.Errorf("%s: give either field or value, not both", target)
			case hasValue:
				f.value = value
			case hasField:
				if f.source, _ = field.(string); f.source == "" {
					return nil, fmt.Errorf("%s: field must be a non-empty string", target)
				}
			default:
				return nil, fmt.Errorf("%s: give field or value", target)
			}
			if t, ok := spec["type"]; ok {
				f.typ, _ = t.(string)
				switch f.typ {
				case "string", "number", "boolean":
				default:
					return nil, fmt.Errorf("%s: unknown type %v (use string, number or boolean)", target, t)
				}
				if hasValue {
					return nil, fmt.Errorf("%s: type applies to a field, not to a value", target)
				}
			}
		default:
			return nil, fmt.Errorf("%s: must be a source field name or an object with field or value, not %T", target, spec)
		}
		m.fields = append(m.fields, f)
	}
	for i := 1; i < len(m.fields); i++ {
		a, b := m.fields[i-1].target, m.fields[i].target
		if len(a) < len(b) && strings.Join(b[:len(a)], ".") == strings.Join(a, ".") {
			return nil, fmt.Errorf("target fields %s and %s overlap", strings.Join(a, "."), strings.Join(b, "."))
		}
	}
	return m, nil
}

// Apply builds the target record from src. A source field that src lacks
// leaves its target unset; a value that cannot be converted is an error
// naming the field.
func (m *Mapping) Apply(src map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m.fields))
	for _, f := range m.fields {
		v := f.value
		if f.source != "" {
			var ok bool
			if v, ok = lookup(src, f.source); !ok {
				continue
			}
			var err error
			if v, err = m.convert(v, f.typ); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.source, err)
			}
		}
		setPath(out, f.target, v)
	}
	return out, nil
}

// lookup finds a field by its name, or else by a dotted path into nested
// objects.
func lookup(src map[string]any, name string) (any, bool) {
	if v, ok := src[name]; ok {
		return v, true
	}
	if !strings.Contains(name, ".") {
		return nil, false
	}
	var cur any = src
	for part := range strings.SplitSeq(name, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// setPath sets a value at a path, creating the objects on the way.
func setPath(dst map[string]any, path []string, v any) {
	for _, part := range path[:len(path)-1] {
		next, ok := dst[part].(map[string]any)
		if !ok {
			next = map[string]any{}
			dst[part] = next
		}
		dst = next
	}
	dst[path[len(path)-1]] = v
}

func (m *Mapping) convert(v any, typ string) (any, error) {
	switch typ {
	case "":
		return v, nil
	case "string":
		switch x := v.(type) {
		case nil, string:
			return x, nil
		case json.Number:
			return string(x), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
		return nil, fmt.Errorf("%s is not a string", kind(v))
	case "number":
		switch x := v.(type) {
		case nil, float64:
			return x, nil
		case json.Number:
			return m.number(string(x))
		case string:
			s := strings.TrimSpace(x)
			if s == "" {
				return nil, nil
			}
			return m.number(s)
		}
		return nil, fmt.Errorf("%s is not a number", kind(v))
	case "boolean":
		switch x := v.(type) {
		case nil, bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "":
				return nil, nil
			case "true", "t", "yes", "y", "1":
				return true, nil
			case "false", "f", "no", "n", "0":
				return false, nil
			}
			return nil, fmt.Errorf("%q is not a boolean", x)
		}
		return nil, fmt.Errorf("%s is not a boolean", kind(v))
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

func (m *Mapping) number(s string) (any, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !json.Valid([]byte(s)) {
		return nil, fmt.Errorf("%q is not a number", s)
	}
	if m.exactNumbers {
		return json.Number(s), nil
	}
	return f, nil
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
