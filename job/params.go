package job

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// ParamError is a parameter a job refuses; Param names it as weft.yaml
// and the API do (nested fields joined by dots).
type ParamError struct {
	Param  string
	Reason string
}

func (e *ParamError) Error() string { return fmt.Sprintf("parameter %s: %s", e.Param, e.Reason) }

// ErrBadParam matches every ParamError.
var ErrBadParam = errors.New("bad parameter")

// Is makes errors.Is(err, ErrBadParam) true for any ParamError.
func (e *ParamError) Is(target error) bool { return target == ErrBadParam }

// ParamsOf decodes parameters (Invocation.Parameters) into a P strictly:
// a parameter P has no field for, or of the wrong type, is a *ParamError
// naming it. Empty or null parameters decode as {}.
func ParamsOf[P any](params json.RawMessage) (P, error) {
	var p P
	if len(bytes.TrimSpace(params)) == 0 || bytes.Equal(bytes.TrimSpace(params), []byte("null")) {
		params = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, paramsError(err, reflect.TypeFor[P]())
	}
	if dec.More() {
		return p, errors.New("parameters: data after the JSON object")
	}
	return p, nil
}

// paramsError names the parameter of a decoding error of t.
func paramsError(err error, t reflect.Type) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return &ParamError{Param: typeErr.Field, Reason: fmt.Sprintf("must be %s, not %s", kindName(typeErr.Type), typeErr.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		reason := "unknown parameter (unknown field " + name
		if known := fieldNames(t); len(known) > 0 {
			reason += "; known: " + strings.Join(known, ", ")
		}
		return &ParamError{Param: strings.Trim(name, `"`), Reason: reason + ")"}
	}
	return fmt.Errorf("parameters: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// kindName says what JSON a Go type takes.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return kindName(t.Elem())
	}
	return t.String()
}

// fieldNames lists the JSON names of a struct's fields, sorted.
func fieldNames(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported() && !f.Anonymous:
			continue
		case f.Anonymous && name == "":
			out = append(out, fieldNames(f.Type)...)
			continue
		case name == "":
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
