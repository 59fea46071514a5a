package trackplan

import (
	"bytes"
	"encoding/json"
	"errors"
	"unsafe"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// errTooDeep is a payload nested deeper than DepthMax.
var errTooDeep = errors.New("too deep")

// decoder turns a payload into the values the schema library validates
// (map[string]any, []any, string, json.Number, bool, nil) in one pass,
// which encoding/json's Decoder does in two with many more allocations:
// the check costs about as much as the rest of ingest, so this matters.
// Strings and numbers without escapes point into the payload instead of
// being copied: the values live only while the check runs, and the
// payload is not changed meanwhile. Object keys are interned per batch.
type decoder struct {
	b     []byte
	i     int
	depth int
	keys  map[string]string
}

// decode reads raw, a JSON value, falling back to the library's decoder
// (which says what is wrong) on anything it does not expect.
func (d *decoder) decode(raw []byte) (any, error) {
	d.b, d.i, d.depth = raw, 0, 0
	v, err := d.value()
	if err == nil {
		d.space()
		if d.i == len(d.b) {
			return v, nil
		}
	}
	if errors.Is(err, errTooDeep) {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(raw))
}

var errSyntax = errors.New("syntax")

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value() (any, error) {
	d.space()
	if d.i >= len(d.b) {
		return nil, errSyntax
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		start := d.i
		for d.i < len(d.b) && isNumberByte(d.b[d.i]) {
			d.i++
		}
		return json.Number(view(d.b[start:d.i])), nil
	}
	return nil, errSyntax
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (d *decoder) literal(lit string) error {
	if !bytes.HasPrefix(d.b[d.i:], []byte(lit)) {
		return errSyntax
	}
	d.i += len(lit)
	return nil
}

func (d *decoder) object() (any, error) {
	m := make(map[string]any, 8)
	if empty, err := d.open('}'); empty || err != nil {
		return m, err
	}
	for {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, errSyntax
		}
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, errSyntax
		}
		d.i++
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		if done, err := d.next('}'); done || err != nil {
			return m, err
		}
	}
}

func (d *decoder) array() (any, error) {
	a := make([]any, 0, 4)
	if empty, err := d.open(']'); empty || err != nil {
		return a, err
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if done, err := d.next(']'); done || err != nil {
			return a, err
		}
	}
}

// open enters the object or array at d.i, reporting whether it is empty
// (and then already left).
func (d *decoder) open(end byte) (bool, error) {
	if d.depth++; d.depth > DepthMax {
		return false, errTooDeep
	}
	d.i++
	d.space()
	if d.i < len(d.b) && d.b[d.i] == end {
		d.i++
		d.depth--
		return true, nil
	}
	return false, nil
}

// next reads the comma before the next member, or the end.
func (d *decoder) next(end byte) (bool, error) {
	d.space()
	if d.i >= len(d.b) {
		return false, errSyntax
	}
	d.i++
	switch d.b[d.i-1] {
	case ',':
		return false, nil
	case end:
		d.depth--
		return true, nil
	}
	return false, errSyntax
}

// rawString returns the bytes of the string at d.i, quotes included, and
// whether it has escapes.
func (d *decoder) rawString() ([]byte, bool, error) {
	start, escaped := d.i, false
	for d.i++; d.i < len(d.b); d.i++ {
		switch d.b[d.i] {
		case '\\':
			escaped = true
			d.i++
		case '"':
			d.i++
			return d.b[start:d.i], escaped, nil
		}
	}
	return nil, false, errSyntax
}

func (d *decoder) str() (any, error) {
	raw, escaped, err := d.rawString()
	if err != nil {
		return nil, err
	}
	if !escaped {
		return view(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, errSyntax
	}
	return s, nil
}

func (d *decoder) key() (string, error) {
	raw, escaped, err := d.rawString()
	if err != nil {
		return "", err
	}
	if escaped {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errSyntax
		}
		return s, nil
	}
	if k, ok := d.keys[string(raw[1:len(raw)-1])]; ok {
		return k, nil
	}
	k := string(raw[1 : len(raw)-1])
	if len(d.keys) < 10_000 {
		d.keys[k] = k
	}
	return k, nil
}

// view is b as a string without a copy; b must not change while the
// string is in use.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
