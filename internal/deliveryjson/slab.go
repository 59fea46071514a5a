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
	return take(&s.insertions)
}

func (s *slab) uint64(v uint64) *uint64 {
	p := take(&s.uint64s)
	*p = v
	return p
}

func (s *slab) value() *structpb.Value {
	return take(&s.values)
}

func (s *slab) stringValue(v string) *structpb.Value {
	k := take(&s.strings)
	k.StringValue = v
	p := s.value()
	p.Kind = k
	return p
}

func (s *slab) numberValue(v float64) *structpb.Value {
	k := take(&s.numbers)
	k.NumberValue = v
	p := s.value()
	p.Kind = k
	return p
}

func (s *slab) structValue() *structpb.Struct {
	return take(&s.structs)
}

func (s *slab) properties() *common.Properties {
	return take(&s.props)
}

func (s *slab) propertiesStruct() *common.Properties_Struct {
	return take(&s.propStructs)
}

// take hands out the next element of pool, which is refilled slabSize
// elements at a time: one allocation for many small values.
func take[T any](pool *[]T) *T {
	if len(*pool) == 0 {
		*pool = make([]T, slabSize)
	}
	p := &(*pool)[0]
	*pool = (*pool)[1:]
	return p
}
