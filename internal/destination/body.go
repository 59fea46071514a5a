package destination

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/attr"
)

// Bodies are written as bytes, not through encoding/json: reflection over
// the maps of identifiers and attributes cost more than reading them. The
// bytes are those json.Marshal makes of ChangesBody and ProfilesBody (the
// same escapes, number forms and sorted keys; TestBodiesAsMarshal).

// keyed is the values of one identifier category or attribute of a
// profile, in the order read.
type keyed struct {
	key  string
	vals []string
}

// profileValues are a profile's chosen identifiers and attributes as read.
type profileValues struct {
	identifiers, attributes []keyed
}

// add appends a value of key: rows come ordered by key within an entity,
// so a key is mostly the last one.
func add(list []keyed, key, v string) []keyed {
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].key == key {
			list[i].vals = append(list[i].vals, v)
			return list
		}
	}
	return append(list, keyed{key: key, vals: []string{v}})
}

// appendValues writes `"identifiers":{...},"attributes":{...}`, the end
// of a change or profile object, keys sorted as encoding/json sorts map
// keys. Attributes are typed by their definitions (attr.JSONValues'
// rules); one without a definition is left out.
func appendValues(b []byte, p *profileValues, defs map[string]*attr.Definition) ([]byte, error) {
	b = append(b, `"identifiers":{`...)
	sortKeyed(p.identifiers)
	for i, k := range p.identifiers {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k.key)
		b = append(b, ':', '[')
		for j, v := range k.vals {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v)
		}
		b = append(b, ']')
	}
	b = append(b, `},"attributes":{`...)
	sortKeyed(p.attributes)
	first := true
	for _, k := range p.attributes {
		d := defs[k.key]
		if d == nil {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k.key)
		b = append(b, ':')
		list := d.Type == attr.TypeList || len(k.vals) > 1
		if list {
			b = append(b, '[')
		}
		for j, v := range k.vals {
			if j > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, d.JSONValue(v)); err != nil {
				return nil, fmt.Errorf("attribute %s: %w", k.key, err)
			}
		}
		if list {
			b = append(b, ']')
		}
	}
	return append(b, '}'), nil
}

func sortKeyed(list []keyed) {
	if len(list) > 1 {
		slices.SortFunc(list, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	}
}

// appendChange writes a change whose profile's values (appendValues) are
// vals.
func appendChange(b []byte, c *Change, vals []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, c.Seq, 10)
	b = append(b, `,"segment":`...)
	b = appendString(b, c.Segment)
	b = append(b, `,"entity_id":`...)
	b = appendString(b, c.EntityID)
	b = append(b, `,"change":`...)
	b = appendString(b, c.Change)
	b = append(b, `,"time":`...)
	b = appendTime(b, c.Time)
	b = append(b, ',')
	b = append(b, vals...)
	return append(b, '}')
}

// appendProfile writes a profile whose values (appendValues) are vals.
func appendProfile(b []byte, entity string, t time.Time, vals []byte) []byte {
	b = append(b, `{"entity_id":`...)
	b = appendString(b, entity)
	b = append(b, `,"time":`...)
	b = appendTime(b, t)
	b = append(b, ',')
	b = append(b, vals...)
	return append(b, '}')
}

// appendTime writes t as time.Time's MarshalJSON does.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendValue writes an attribute value of attr's JSON types as
// encoding/json does; other types go through json.Marshal.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case float64:
		return appendFloat(b, v)
	}
	m, err := json.Marshal(v)
	return append(b, m...), err
}

// appendFloat writes f as encoding/json does (ES6 number form); NaN and
// infinities are not JSON.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("%v is not a JSON number", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-09 to e-9
		b = b[:n-1]
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does: HTML characters, control
// bytes, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
