package deliveryjson

import (
	"math"
	"slices"
	"strconv"

	"google.golang.org/protobuf/types/known/structpb"
)

// structValue writes a Struct with its keys sorted, so equal responses
// give equal bytes.
func (w *writer) structValue(s *structpb.Struct) {
	w.open()
	keys := make([]string, 0, len(s.GetFields()))
	for k := range s.GetFields() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !w.first {
			w.buf = append(w.buf, ',')
		}
		w.first = false
		w.quote(k)
		w.buf = append(w.buf, ':')
		w.value(s.Fields[k])
	}
	w.close()
}

func (w *writer) value(v *structpb.Value) {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		w.quote(k.StringValue)
	case *structpb.Value_NumberValue:
		if math.IsNaN(k.NumberValue) || math.IsInf(k.NumberValue, 0) {
			w.buf = append(w.buf, "null"...)
			return
		}
		w.buf = strconv.AppendFloat(w.buf, k.NumberValue, 'g', -1, 64)
	case *structpb.Value_BoolValue:
		w.buf = strconv.AppendBool(w.buf, k.BoolValue)
	case *structpb.Value_StructValue:
		w.structValue(k.StructValue)
	case *structpb.Value_ListValue:
		w.buf = append(w.buf, '[')
		for i, e := range k.ListValue.GetValues() {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.value(e)
		}
		w.buf = append(w.buf, ']')
	default:
		w.buf = append(w.buf, "null"...)
	}
}
