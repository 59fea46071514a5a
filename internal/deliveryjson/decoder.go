package deliveryjson

import (
	"strconv"

	"github.com/promotedai/schema/generated/go/proto/delivery"
)

// maxDepth bounds nesting so hostile input cannot grow the stack without
// limit. protojson allows 10,000 nested messages, and every JSON level of
// a Struct costs it at least one, so this never rejects what it accepts.
const maxDepth = 10000

// DecodeRequest decodes a JSON delivery request in any of the dialects
// described in the package documentation into req, which is reset first.
// On error req holds whatever was decoded before the error.
func DecodeRequest(data []byte, req *delivery.Request) error {
	return DecodeRequestKeeping(data, req, nil)
}

// DecodeRequestKeeping is DecodeRequest keeping, when keep is not nil,
// only the named top-level keys of each insertion's properties struct; the
// other values are checked as JSON and dropped. A caller that reads a few
// properties (a ranker's rules) saves building the rest, which is most of
// the decoding of a large request.
func DecodeRequestKeeping(data []byte, req *delivery.Request, keep map[string]bool) error {
	req.Reset()
	d := decoder{data: data, text: string(data), keep: keep}
	d.space()
	if err := d.object(func(key []byte) error { return d.requestField(req, key) }); err != nil {
		return err
	}
	d.space()
	if d.pos < len(d.data) {
		return d.syntaxError()
	}
	return nil
}

// decoder is a cursor over one input. Methods that read a value expect the
// cursor on the value's first byte and leave it just past the value.
type decoder struct {
	data []byte
	// text is data copied once into a string. Strings without escapes are
	// substrings of it rather than allocations of their own: a 1,000-
	// insertion body then costs one copy instead of thousands of small
	// allocations. The catch is that any retained string keeps the whole
	// body alive; callers caching decoded strings long-term should clone
	// them (strings.Clone).
	text  string
	pos   int
	depth int
	slab  slab
	keys  map[string]string
	// keep filters the next struct read (an insertion's properties) when
	// filterNext is set; nested structs are never filtered.
	keep       map[string]bool
	filterNext bool
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the byte at the cursor, or 0 at the end of input.
func (d *decoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// syntaxError describes the byte at the cursor as unexpected.
func (d *decoder) syntaxError() error {
	if d.pos >= len(d.data) {
		return &Error{Msg: "unexpected end of input at byte " + strconv.Itoa(d.pos)}
	}
	c := d.data[d.pos]
	return &Error{Msg: "invalid character " + strconv.QuoteRune(rune(c)) +
		" at byte " + strconv.Itoa(d.pos)}
}

// null consumes a JSON null if one is at the cursor.
func (d *decoder) null() bool {
	if d.pos+4 <= len(d.data) && string(d.data[d.pos:d.pos+4]) == "null" {
		d.pos += 4
		return true
	}
	return false
}

// object reads a JSON object, calling field for each key whose value is not
// null with the cursor on the value. null values are skipped: protojson
// treats a null field as absent, and no Request field is a
// google.protobuf.Value, the one type where null means something.
func (d *decoder) object(field func(key []byte) error) error {
	return d.members(field, true)
}

// members reads an object; skipNull says whether null values reach field.
func (d *decoder) members(field func(key []byte) error, skipNull bool) error {
	if d.peek() != '{' {
		return d.wrongType("an object")
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++
	d.space()
	if d.peek() == '}' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		key, err := d.key()
		if err != nil {
			return err
		}
		if !skipNull || !d.null() {
			if err := field(key); err != nil {
				return inField(err, key)
			}
		}
		if done, err := d.next('}'); done || err != nil {
			return err
		}
	}
}

// array reads a JSON array, calling elem for each element with the cursor
// on it.
func (d *decoder) array(elem func(i int) error) error {
	if d.peek() != '[' {
		return d.wrongType("an array")
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++
	d.space()
	if d.peek() == ']' {
		d.pos++
		d.depth--
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return inElement(err, i)
		}
		if done, err := d.next(']'); done || err != nil {
			return err
		}
	}
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return &Error{Msg: "nesting deeper than " + strconv.Itoa(maxDepth) +
			" at byte " + strconv.Itoa(d.pos)}
	}
	return nil
}

// key reads an object key and its colon, leaving the cursor on the value.
func (d *decoder) key() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.syntaxError()
	}
	key, err := d.stringBytes()
	if err != nil {
		return nil, err
	}
	d.space()
	if d.peek() != ':' {
		return nil, d.syntaxError()
	}
	d.pos++
	d.space()
	return key, nil
}

// next moves past the separator after a member or element: it reports done
// when it consumed the closing byte.
func (d *decoder) next(closing byte) (bool, error) {
	d.space()
	switch d.peek() {
	case ',':
		d.pos++
		d.space()
		return false, nil
	case closing:
		d.pos++
		d.depth--
		return true, nil
	}
	return false, d.syntaxError()
}

// wrongType reports the value at the cursor as not being of the wanted
// kind. If the value is not even valid JSON, that is the error reported.
func (d *decoder) wrongType(want string) error {
	start := d.pos
	if err := d.skip(); err != nil {
		return err
	}
	return &Error{Msg: "want " + want + ", got " + describe(d.data[start:d.pos])}
}

// describe names a raw JSON value for an error message.
func describe(raw []byte) string {
	const max = 40
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	if len(raw) > max {
		return string(raw[:max]) + "..."
	}
	return string(raw)
}
