package deliveryjson

import (
	"github.com/promotedai/schema/generated/go/proto/common"
	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/types/known/structpb"
)

// slabSize is how many values of one type are allocated at once. A
// 1,000-insertion request would otherwise make one allocation per
// insertion, rank and property value; chunks cut that by this factor at
// the cost of up to slabSize-1 unused values per type.
const slabSize = 64

// slab hands out pointers into chunks. The chunks are never copied, only
// indexed, so the generated structs' no-copy markers are respected.
type slab struct {
	insertions  []delivery.Insertion
	uint64s     []uint64
	values      []structpb.Value
	strings     []structpb.Value_StringValue
	numbers     []structpb.Value_NumberValue
	structs     []structpb.Struct
	props       []common.Properties
	propStructs []common.Properties_Struct
}

func (s *slab) insertion() *delivery.Insertion {
	if len(s.insertions) == 0 {
		s.insertions = make([]delivery.Insertion, slabSize)
	}
	p := &s.insertions[0]
	s.insertions = s.insertions[1:]
	return p
}

func (s *slab) uint64(v uint64) *uint64 {
	if len(s.uint64s) == 0 {
		s.uint64s = make([]uint64, slabSize)
	}
	p := &s.uint64s[0]
	s.uint64s = s.uint64s[1:]
	*p = v
	return p
}

func (s *slab) value() *structpb.Value {
	if len(s.values) == 0 {
		s.values = make([]structpb.Value, slabSize)
	}
	p := &s.values[0]
	s.values = s.values[1:]
	return p
}

func (s *slab) stringValue(v string) *structpb.Value {
	if len(s.strings) == 0 {
		s.strings = make([]structpb.Value_StringValue, slabSize)
	}
	k := &s.strings[0]
	s.strings = s.strings[1:]
	k.StringValue = v
	p := s.value()
	p.Kind = k
	return p
}

func (s *slab) numberValue(v float64) *structpb.Value {
	if len(s.numbers) == 0 {
		s.numbers = make([]structpb.Value_NumberValue, slabSize)
	}
	k := &s.numbers[0]
	s.numbers = s.numbers[1:]
	k.NumberValue = v
	p := s.value()
	p.Kind = k
	return p
}

func (s *slab) structValue() *structpb.Struct {
	if len(s.structs) == 0 {
		s.structs = make([]structpb.Struct, slabSize)
	}
	p := &s.structs[0]
	s.structs = s.structs[1:]
	return p
}

func (s *slab) properties() *common.Properties {
	if len(s.props) == 0 {
		s.props = make([]common.Properties, slabSize)
	}
	p := &s.props[0]
	s.props = s.props[1:]
	return p
}

func (s *slab) propertiesStruct() *common.Properties_Struct {
	if len(s.propStructs) == 0 {
		s.propStructs = make([]common.Properties_Struct, slabSize)
	}
	p := &s.propStructs[0]
	s.propStructs = s.propStructs[1:]
	return p
}
