package demo

import "strconv"

// obj builds a JSON object by appending; the generator makes millions of
// payloads and encoding/json's reflection would dominate its time.
type obj struct{ b []byte }

func (o *obj) key(k string) {
	if len(o.b) == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.b = appendString(o.b, k)
	o.b = append(o.b, ':')
}

func (o *obj) str(k, v string) { o.key(k); o.b = appendString(o.b, v) }
func (o *obj) num(k string, v float64) {
	o.key(k)
	o.b = strconv.AppendFloat(o.b, v, 'f', -1, 64)
}
func (o *obj) boolean(k string, v bool) { o.key(k); o.b = strconv.AppendBool(o.b, v) }
func (o *obj) raw(k string, v []byte)   { o.key(k); o.b = append(o.b, v...) }

func (o *obj) end() []byte {
	if len(o.b) == 0 {
		return []byte("{}")
	}
	return append(o.b, '}')
}

// arr builds a JSON array of raw values.
type arr struct{ b []byte }

func (a *arr) raw(v []byte) {
	if len(a.b) == 0 {
		a.b = append(a.b, '[')
	} else {
		a.b = append(a.b, ',')
	}
	a.b = append(a.b, v...)
}

func (a *arr) end() []byte {
	if len(a.b) == 0 {
		return []byte("[]")
	}
	return append(a.b, ']')
}

// appendString quotes s, taking a shortcut for the plain ASCII the
// generator mostly makes.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return strconv.AppendQuote(dst, s)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
