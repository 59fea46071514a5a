package deliveryjson

// enum reads an enum given by name or number. names is the generated
// XXX_value map. set is false for a name this schema does not know: like
// protojson with DiscardUnknown, the field is then left unset, so a client
// built against a newer schema is not refused.
func (d *decoder) enum(names map[string]int32) (v int32, set bool, err error) {
	switch c := d.peek(); {
	case c == '"':
		name, err := d.stringBytes()
		if err != nil {
			return 0, false, err
		}
		v, set = names[string(name)]
		return v, set, nil
	case c == '-' || ('0' <= c && c <= '9'):
		n, err := d.int(32)
		return int32(n), err == nil, err
	}
	return 0, false, d.wrongType("an enum name or number")
}
