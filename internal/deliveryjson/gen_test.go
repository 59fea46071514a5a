package deliveryjson

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/promotedai/schema/generated/go/proto/common"
	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/types/known/structpb"
)

// gen builds random messages for the differential tests. Each optional
// field is present with probability 1/2, so runs cover many subsets.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) gen { return gen{rand.New(rand.NewPCG(seed, 7))} }

func (g gen) coin() bool { return g.r.IntN(2) == 0 }

// pieces mixes plain text with bytes that need escaping and multi-byte
// runes, including ones JSON writes as surrogate pairs.
var pieces = []string{"a", "id-42", "é", "日本", "😀", "\"", "\\", "\n", "\t", "\x01",
	"<", "&", "\u2028", "/", "\u007f", " ", "ß", "\U0010FFFF"}

func (g gen) str() string {
	var b strings.Builder
	for range g.r.IntN(6) {
		b.WriteString(pieces[g.r.IntN(len(pieces))])
	}
	return b.String()
}

func (g gen) maybeStr() string {
	if g.coin() {
		return g.str()
	}
	return ""
}

func (g gen) u64() uint64 {
	switch g.r.IntN(4) {
	case 0:
		return 0
	case 1:
		return uint64(g.r.IntN(1000))
	case 2:
		return math.MaxUint64 - uint64(g.r.IntN(3))
	}
	return g.r.Uint64()
}

func (g gen) float64() float64 {
	switch g.r.IntN(6) {
	case 0:
		return float64(g.r.IntN(2000) - 1000)
	case 1:
		return float64(g.r.IntN(100000)) / 100
	case 2:
		return g.r.NormFloat64() * 1e300
	case 3:
		return 5e-324
	case 4:
		return -g.r.Float64()
	}
	return g.r.NormFloat64()
}

func (g gen) float32() float32 {
	switch g.r.IntN(8) {
	case 0:
		return float32(math.NaN())
	case 1:
		return float32(math.Inf(1 - 2*g.r.IntN(2)))
	case 2:
		return math.MaxFloat32
	}
	return float32(g.r.NormFloat64() * 100)
}

func (g gen) value(depth int) *structpb.Value {
	n := 6
	if depth > 2 {
		n = 4
	}
	switch g.r.IntN(n) {
	case 0:
		return structpb.NewNullValue()
	case 1:
		return structpb.NewBoolValue(g.coin())
	case 2:
		return structpb.NewNumberValue(g.float64())
	case 3:
		return structpb.NewStringValue(g.str())
	case 4:
		return structpb.NewStructValue(g.structValue(depth + 1))
	}
	return structpb.NewListValue(g.list(depth + 1))
}

func (g gen) structValue(depth int) *structpb.Struct {
	s := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for range g.r.IntN(4) {
		s.Fields[g.str()] = g.value(depth)
	}
	return s
}

func (g gen) list(depth int) *structpb.ListValue {
	l := &structpb.ListValue{}
	for range g.r.IntN(4) {
		l.Values = append(l.Values, g.value(depth))
	}
	return l
}

func (g gen) properties() *common.Properties {
	switch g.r.IntN(4) {
	case 0:
		return nil
	case 1:
		return &common.Properties{}
	case 2:
		b := []byte(g.str())
		return &common.Properties{StructField: &common.Properties_StructBytes{StructBytes: b}}
	}
	return &common.Properties{StructField: &common.Properties_Struct{Struct: g.structValue(0)}}
}

func (g gen) userInfo() *common.UserInfo {
	if g.coin() {
		return nil
	}
	return &common.UserInfo{UserId: g.maybeStr(), LogUserId: g.maybeStr(),
		IsInternalUser: g.coin(), IgnoreUsage: g.coin(), AnonUserId: g.maybeStr(),
		RetainedUserId: g.maybeStr()}
}

func (g gen) timing() *common.Timing {
	if g.coin() {
		return nil
	}
	return &common.Timing{ClientLogTimestamp: g.u64()}
}

func (g gen) clientInfo() *common.ClientInfo {
	if g.coin() {
		return nil
	}
	return &common.ClientInfo{
		ClientType:  common.ClientInfo_ClientType(g.pick(common.ClientInfo_ClientType_name)),
		TrafficType: common.ClientInfo_TrafficType(g.pick(common.ClientInfo_TrafficType_name)),
	}
}

// pick returns a random defined enum number, or 99, which no enum defines.
func (g gen) pick(names map[int32]string) int32 {
	if g.r.IntN(10) == 0 {
		return 99
	}
	i := g.r.IntN(len(names))
	for v := range names {
		if i == 0 {
			return v
		}
		i--
	}
	return 0
}

func (g gen) optU64() *uint64 {
	if g.coin() {
		return nil
	}
	v := g.u64()
	return &v
}

func (g gen) insertion() *delivery.Insertion {
	ins := &delivery.Insertion{PlatformId: g.u64(), UserInfo: g.userInfo(), Timing: g.timing(),
		ClientInfo: g.clientInfo(), InsertionId: g.maybeStr(), RequestId: g.maybeStr(),
		ViewId: g.maybeStr(), AutoViewId: g.maybeStr(), SessionId: g.maybeStr(),
		ContentId: g.maybeStr(), Position: g.optU64(), Properties: g.properties(),
		RetrievalRank: g.optU64()}
	if g.coin() {
		f := g.float32()
		ins.RetrievalScore = &f
	}
	return ins
}
