package event

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/store"
)

// DeriveID computes the deterministic id of an event sent without one; see
// the package documentation for the exact input.
func DeriveID(e store.EventInsert) string {
	var buf bytes.Buffer
	buf.Grow(len(e.Payload) + 96)
	buf.WriteString(e.EventTime.UTC().Format("2006-01-02T15:04:05.000000Z"))
	buf.WriteByte('\n')
	buf.WriteString(e.SourceID)
	buf.WriteByte('\n')
	buf.WriteString(e.Type)
	buf.WriteByte('\n')
	if err := Canonical(&buf, e.Payload); err != nil {
		// Payloads are validated before ids are derived; should one slip
		// through, hash its bytes as they are.
		buf.Write(e.Payload)
	}
	sum := md5.Sum(buf.Bytes())
	return hex.EncodeToString(sum[:])
}

// Canonical writes the canonical form of a JSON text: object keys sorted
// bytewise, no white space, strings with minimal escaping, numbers as
// written.
func Canonical(buf *bytes.Buffer, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	writeCanonical(buf, v)
	return nil
}

func writeCanonical(buf *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			writeCanonical(buf, v[k])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonical(buf, x)
		}
		buf.WriteByte(']')
	case string:
		writeString(buf, v)
	case json.Number:
		buf.WriteString(string(v))
	case bool:
		buf.WriteString(strconv.FormatBool(v))
	case nil:
		buf.WriteString("null")
	}
}

const hexDigits = "0123456789abcdef"

// writeString escapes only what JSON requires: the quote, the backslash and
// control characters.
func writeString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			if c < utf8.RuneSelf {
				buf.WriteByte(c)
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			buf.WriteRune(r)
			i += size
			continue
		}
		switch c {
		case '"', '\\':
			buf.WriteByte('\\')
			buf.WriteByte(c)
		case '\n':
			buf.WriteString(`\n`)
		case '\r':
			buf.WriteString(`\r`)
		case '\t':
			buf.WriteString(`\t`)
		default:
			buf.WriteString(`\u00`)
			buf.WriteByte(hexDigits[c>>4])
			buf.WriteByte(hexDigits[c&0xf])
		}
		i++
	}
	buf.WriteByte('"')
}
