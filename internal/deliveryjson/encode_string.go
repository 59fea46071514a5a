package deliveryjson

import (
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// quote appends s as a JSON string. Runs of bytes that need no escaping
// are copied at once; that is nearly every byte of IDs.
func (w *writer) quote(s string) {
	w.buf = append(w.buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || n != 1 {
				i += n
				continue
			}
		}
		w.buf = append(w.buf, s[start:i]...)
		w.escape(c)
		i++
		start = i
	}
	w.buf = append(w.buf, s[start:]...)
	w.buf = append(w.buf, '"')
}

// escape writes the escape for c: a quote, backslash, control byte, or
// the first byte of invalid UTF-8, which becomes U+FFFD.
func (w *writer) escape(c byte) {
	switch c {
	case '"', '\\':
		w.buf = append(w.buf, '\\', c)
	case '\n':
		w.buf = append(w.buf, '\\', 'n')
	case '\r':
		w.buf = append(w.buf, '\\', 'r')
	case '\t':
		w.buf = append(w.buf, '\\', 't')
	case '\b':
		w.buf = append(w.buf, '\\', 'b')
	case '\f':
		w.buf = append(w.buf, '\\', 'f')
	default:
		if c >= utf8.RuneSelf {
			w.buf = append(w.buf, "\ufffd"...)
			return
		}
		w.buf = append(w.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
	}
}
