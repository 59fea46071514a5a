package deliveryjson

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/jsonsyntax"
)

// plain marks the bytes a string scan can pass over without a second look:
// printable ASCII other than the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a JSON string value.
func (d *decoder) str() (string, error) {
	if d.peek() != '"' {
		return "", d.wrongType("a string")
	}
	return d.text0()
}

// text0 reads the string at the cursor as a substring of d.text when it
// has no escapes.
func (d *decoder) text0() (string, error) {
	start := d.pos + 1
	b, err := d.stringBytes()
	if err != nil {
		return "", err
	}
	if d.pos-1-start == len(b) {
		return d.text[start : d.pos-1], nil
	}
	return string(b), nil
}

// stringBytes reads the string at the cursor. Without escapes the result
// aliases the input; with escapes it is a fresh slice, so keys stay valid
// while their values are decoded (error paths need them).
func (d *decoder) stringBytes() ([]byte, error) {
	start := d.pos + 1
	i := start
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case plain[c]:
			i++
		case c == '"':
			d.pos = i + 1
			return d.data[start:i], nil
		case c == '\\':
			return d.unescape(start, i)
		case c < 0x20:
			d.pos = i
			return nil, d.syntaxError()
		default:
			n, err := d.rune(i)
			if err != nil {
				return nil, err
			}
			i += n
		}
	}
	d.pos = i
	return nil, d.syntaxError()
}

// rune checks the UTF-8 sequence at i and returns its length.
func (d *decoder) rune(i int) (int, error) {
	r, n := utf8.DecodeRune(d.data[i:])
	if r == utf8.RuneError && n == 1 {
		return 0, &Error{Msg: "invalid UTF-8 in string at byte " + strconv.Itoa(i)}
	}
	return n, nil
}

// unescape finishes a string that has escapes: start is where its content
// began and i the first backslash.
func (d *decoder) unescape(start, i int) ([]byte, error) {
	out := make([]byte, 0, i-start+16)
	out = append(out, d.data[start:i]...)
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case plain[c]:
			out = append(out, c)
			i++
		case c == '"':
			d.pos = i + 1
			return out, nil
		case c == '\\':
			var err error
			if out, i, err = d.escape(out, i); err != nil {
				return nil, err
			}
		case c < 0x20:
			d.pos = i
			return nil, d.syntaxError()
		default:
			n, err := d.rune(i)
			if err != nil {
				return nil, err
			}
			out = append(out, d.data[i:i+n]...)
			i += n
		}
	}
	d.pos = i
	return nil, d.syntaxError()
}

// escape decodes the escape sequence at i, appending it to out, and
// returns the index after it.
func (d *decoder) escape(out []byte, i int) ([]byte, int, error) {
	if i+1 >= len(d.data) {
		d.pos = len(d.data)
		return nil, 0, d.syntaxError()
	}
	switch c := d.data[i+1]; c {
	case '"', '\\', '/':
		return append(out, c), i + 2, nil
	case 'b':
		return append(out, '\b'), i + 2, nil
	case 'f':
		return append(out, '\f'), i + 2, nil
	case 'n':
		return append(out, '\n'), i + 2, nil
	case 'r':
		return append(out, '\r'), i + 2, nil
	case 't':
		return append(out, '\t'), i + 2, nil
	case 'u':
		return d.unicodeEscape(out, i)
	}
	d.pos = i + 1
	return nil, 0, d.syntaxError()
}

// unicodeEscape decodes \uXXXX at i, pairing surrogates. A lone surrogate
// is an error, as in protojson: it cannot be valid UTF-8.
func (d *decoder) unicodeEscape(out []byte, i int) ([]byte, int, error) {
	r, ok := jsonsyntax.Hex4(d.data, i+2)
	if !ok {
		return nil, 0, d.badEscape(i)
	}
	i += 6
	if utf16.IsSurrogate(r) {
		lo, ok := rune(0), false
		if i+1 < len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
			lo, ok = jsonsyntax.Hex4(d.data, i+2)
		}
		if r = utf16.DecodeRune(r, lo); !ok || r == utf8.RuneError {
			return nil, 0, d.badEscape(i - 6)
		}
		i += 6
	}
	return utf8.AppendRune(out, r), i, nil
}

func (d *decoder) badEscape(i int) error {
	if i+6 > len(d.data) {
		d.pos = len(d.data)
		return d.syntaxError()
	}
	return &Error{Msg: "invalid escape " + strconv.Quote(string(d.data[i:i+6])) +
		" at byte " + strconv.Itoa(i)}
}
