package deliveryjson

import (
	"google.golang.org/protobuf/types/known/structpb"
)

// structValue reads a JSON object as a google.protobuf.Struct.
func (d *decoder) structValue() (*structpb.Struct, error) {
	if d.peek() != '{' {
		return nil, d.wrongType("an object")
	}
	s := d.slab.structValue()
	filter := d.filterNext && d.keep != nil
	d.filterNext = false
	err := d.members(func(key []byte) error {
		if filter && !d.keep[string(key)] {
			return d.skip()
		}
		v, err := d.value()
		if s.Fields == nil {
			s.Fields = make(map[string]*structpb.Value, 4)
		}
		s.Fields[d.intern(key)] = v
		return err
	}, false)
	return s, err
}

// listValue reads a JSON array as a google.protobuf.ListValue.
func (d *decoder) listValue() (*structpb.ListValue, error) {
	if d.peek() != '[' {
		return nil, d.wrongType("an array")
	}
	l := &structpb.ListValue{}
	err := d.array(func(int) error {
		v, err := d.value()
		l.Values = append(l.Values, v)
		return err
	})
	return l, err
}

// value reads any JSON value as a google.protobuf.Value; numbers become
// doubles and must fit one, as in protojson.
func (d *decoder) value() (*structpb.Value, error) {
	switch c := d.peek(); {
	case c == '"':
		s, err := d.text0()
		return d.slab.stringValue(s), err
	case c == '-' || ('0' <= c && c <= '9'):
		raw, err := d.number()
		if err != nil {
			return nil, err
		}
		f, err := parseFloat(raw, raw, 64)
		return d.slab.numberValue(f), err
	case c == '{':
		s, err := d.structValue()
		return &structpb.Value{Kind: &structpb.Value_StructValue{StructValue: s}}, err
	case c == '[':
		l, err := d.listValue()
		return &structpb.Value{Kind: &structpb.Value_ListValue{ListValue: l}}, err
	case c == 't' || c == 'f':
		b, err := d.boolean()
		return &structpb.Value{Kind: &structpb.Value_BoolValue{BoolValue: b}}, err
	case c == 'n':
		err := d.literal("null")
		return &structpb.Value{Kind: &structpb.Value_NullValue{}}, err
	}
	return nil, d.syntaxError()
}

// maxInterned bounds the key table: property keys repeat across
// insertions, so a few hundred cover real requests, and hostile input
// cannot grow it.
const maxInterned = 512

// intern returns key as a string, sharing one copy per distinct key.
func (d *decoder) intern(key []byte) string {
	if s, ok := d.keys[string(key)]; ok {
		return s
	}
	s := string(key)
	if len(d.keys) < maxInterned && len(key) <= 64 {
		if d.keys == nil {
			d.keys = make(map[string]string)
		}
		d.keys[s] = s
	}
	return s
}
