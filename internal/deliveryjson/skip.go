package deliveryjson

// skip passes over the value at the cursor, checking that it is valid JSON:
// an unknown field must not hide a malformed body.
func (d *decoder) skip() error {
	switch c := d.peek(); {
	case c == '{':
		return d.object(func([]byte) error { return d.skip() })
	case c == '[':
		return d.array(func(int) error { return d.skip() })
	case c == '"':
		_, err := d.stringBytes()
		return err
	case c == '-' || ('0' <= c && c <= '9'):
		_, err := d.number()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	}
	return d.syntaxError()
}

// literal consumes word or reports the first byte that differs.
func (d *decoder) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if d.pos >= len(d.data) || d.data[d.pos] != word[i] {
			return d.syntaxError()
		}
		d.pos++
	}
	return nil
}

// boolean reads true or false.
func (d *decoder) boolean() (bool, error) {
	switch d.peek() {
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	}
	return false, d.wrongType("true or false")
}
