package event

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"sort"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/store"
)

// DeriveID computes the deterministic id of an event sent without one; see
// the package documentation for the exact input.
func DeriveID(e store.EventInsert) string { return deriveID(e, false) }

// deriveID is DeriveID; valid says the payload is known to be valid JSON
// (it came from a record checked whole), which spares Canonical a second
// check of its syntax: a tenth of the decoding's CPU.
func deriveID(e store.EventInsert, valid bool) string {
	var buf bytes.Buffer
	buf.Grow(len(e.Payload) + 96)
	buf.WriteString(e.EventTime.UTC().Format("2006-01-02T15:04:05.000000Z"))
	buf.WriteByte('\n')
	buf.WriteString(e.SourceID)
	buf.WriteByte('\n')
	buf.WriteString(e.Type)
	buf.WriteByte('\n')
	if err := canonical(&buf, e.Payload, valid); err != nil {
		// Payloads are validated before ids are derived; should one slip
		// through, hash its bytes as they are.
		buf.Write(e.Payload)
	}
	sum := md5.Sum(buf.Bytes())
	return hex.EncodeToString(sum[:])
}

// Canonical writes the canonical form of a JSON text: object keys sorted
// bytewise, no white space, strings with minimal escaping, numbers as
// written. It works on the bytes, without building maps, since every event
// sent without an id goes through it.
func Canonical(buf *bytes.Buffer, raw []byte) error { return canonical(buf, raw, false) }

// canonical is Canonical, which checks raw's syntax unless valid says it
// is known to be valid JSON.
func canonical(buf *bytes.Buffer, raw []byte, valid bool) error {
	if !valid && !ValidJSON(raw) {
		return errors.New("invalid JSON")
	}
	i := skipSpace(raw, 0)
	return writeCanonical(buf, raw[i:skipValue(raw, i)])
}

type member struct {
	key   string
	value []byte
}

// writeCanonical writes one valid JSON value (without surrounding space).
func writeCanonical(buf *bytes.Buffer, v []byte) error {
	switch v[0] {
	case '{':
		var members []member
		for i := skipSpace(v, 1); v[i] != '}'; {
			end := skipValue(v, i)
			key, err := unquote(v[i:end])
			if err != nil {
				return err
			}
			i = skipSpace(v, skipSpace(v, end)+1) // past the colon
			end = skipValue(v, i)
			members = append(members, member{key, v[i:end]})
			if i = skipSpace(v, end); v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
		sort.Slice(members, func(a, b int) bool { return members[a].key < members[b].key })
		buf.WriteByte('{')
		for n, m := range members {
			if n > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, m.key)
			buf.WriteByte(':')
			if err := writeCanonical(buf, m.value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case '[':
		buf.WriteByte('[')
		for i, n := skipSpace(v, 1), 0; v[i] != ']'; n++ {
			if n > 0 {
				buf.WriteByte(',')
			}
			end := skipValue(v, i)
			if err := writeCanonical(buf, v[i:end]); err != nil {
				return err
			}
			if i = skipSpace(v, end); v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
		buf.WriteByte(']')
	case '"':
		if bytes.IndexByte(v, '\\') < 0 {
			buf.Write(v) // valid JSON strings hold no raw control characters
			return nil
		}
		s, err := unquote(v)
		if err != nil {
			return err
		}
		writeString(buf, s)
	default: // numbers as written, true, false, null
		buf.Write(v)
	}
	return nil
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
