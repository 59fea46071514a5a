package deliveryjson

import (
	"encoding/base64"
	"math"
	"strconv"

	"github.com/promotedai/schema/generated/go/proto/common"
	"github.com/promotedai/schema/generated/go/proto/delivery"
)

// AppendResponse appends resp as canonical proto3 JSON, as protojson.Marshal
// would write it, and returns the extended slice.
//
// protojson.Marshal refuses a few inputs that this function cannot report
// without an error result; it writes them as the nearest valid JSON
// instead: invalid UTF-8 in strings becomes U+FFFD, and a Struct value
// that is NaN, infinite or has no kind set becomes null.
func AppendResponse(dst []byte, resp *delivery.Response) []byte {
	w := writer{buf: dst}
	w.open()
	if len(resp.Insertion) > 0 {
		w.key("insertion")
		w.buf = append(w.buf, '[')
		for i, ins := range resp.Insertion {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.insertion(ins)
		}
		w.buf = append(w.buf, ']')
	}
	if p := resp.PagingInfo; p != nil {
		w.key("pagingInfo")
		w.open()
		w.str("pagingId", p.PagingId)
		w.str("cursor", p.Cursor)
		w.close()
	}
	if resp.IntrospectionData != nil {
		w.key("introspectionData")
		w.quote(*resp.IntrospectionData)
	}
	w.str("requestId", resp.RequestId)
	w.close()
	return w.buf
}

// writer appends one JSON object tree. first tracks, per open object,
// whether a member has been written, so commas need no lookahead.
type writer struct {
	buf   []byte
	first bool
}

func (w *writer) open() {
	w.buf = append(w.buf, '{')
	w.first = true
}

func (w *writer) close() {
	w.buf = append(w.buf, '}')
	w.first = false
}

// key writes a member name, with the comma before it when needed.
func (w *writer) key(k string) {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, k...)
	w.buf = append(w.buf, '"', ':')
}

// str writes a string member unless it is empty (proto3 default).
func (w *writer) str(k, v string) {
	if v != "" {
		w.key(k)
		w.quote(v)
	}
}

// uint64 writes a 64-bit member as a string, as protojson does, so
// JavaScript clients do not lose precision.
func (w *writer) uint64(k string, v uint64) {
	w.key(k)
	w.buf = append(w.buf, '"')
	w.buf = strconv.AppendUint(w.buf, v, 10)
	w.buf = append(w.buf, '"')
}

func (w *writer) insertion(ins *delivery.Insertion) {
	w.open()
	if ins.PlatformId != 0 {
		w.uint64("platformId", ins.PlatformId)
	}
	if ins.UserInfo != nil {
		w.key("userInfo")
		w.userInfo(ins.UserInfo)
	}
	if ins.Timing != nil {
		w.key("timing")
		w.timing(ins.Timing)
	}
	if ins.ClientInfo != nil {
		w.key("clientInfo")
		w.clientInfo(ins.ClientInfo)
	}
	w.str("insertionId", ins.InsertionId)
	w.str("requestId", ins.RequestId)
	w.str("viewId", ins.ViewId)
	w.str("autoViewId", ins.AutoViewId)
	w.str("sessionId", ins.SessionId)
	w.str("contentId", ins.ContentId)
	if ins.Position != nil {
		w.uint64("position", *ins.Position)
	}
	if ins.Properties != nil {
		w.key("properties")
		w.properties(ins.Properties)
	}
	if ins.RetrievalRank != nil {
		w.uint64("retrievalRank", *ins.RetrievalRank)
	}
	if ins.RetrievalScore != nil {
		w.key("retrievalScore")
		w.float(float64(*ins.RetrievalScore), 32)
	}
	w.close()
}

func (w *writer) userInfo(u *common.UserInfo) {
	w.open()
	w.str("userId", u.UserId)
	w.str("logUserId", u.LogUserId)
	w.bool("isInternalUser", u.IsInternalUser)
	w.bool("ignoreUsage", u.IgnoreUsage)
	w.str("anonUserId", u.AnonUserId)
	w.str("retainedUserId", u.RetainedUserId)
	w.close()
}

func (w *writer) bool(k string, v bool) {
	if v {
		w.key(k)
		w.buf = append(w.buf, "true"...)
	}
}

func (w *writer) timing(t *common.Timing) {
	w.open()
	if t.ClientLogTimestamp != 0 {
		w.uint64("clientLogTimestamp", t.ClientLogTimestamp)
	}
	w.close()
}

// clientInfo writes enums by name, or by number for values this schema
// does not know, as protojson does.
func (w *writer) clientInfo(c *common.ClientInfo) {
	w.open()
	if c.ClientType != 0 {
		w.key("clientType")
		w.enum(common.ClientInfo_ClientType_name, int32(c.ClientType))
	}
	if c.TrafficType != 0 {
		w.key("trafficType")
		w.enum(common.ClientInfo_TrafficType_name, int32(c.TrafficType))
	}
	w.close()
}

func (w *writer) enum(names map[int32]string, v int32) {
	if name, ok := names[v]; ok {
		w.quote(name)
		return
	}
	w.buf = strconv.AppendInt(w.buf, int64(v), 10)
}

func (w *writer) properties(p *common.Properties) {
	w.open()
	switch f := p.StructField.(type) {
	case *common.Properties_Struct:
		w.key("struct")
		w.structValue(f.Struct)
	case *common.Properties_StructBytes:
		w.key("structBytes")
		w.buf = append(w.buf, '"')
		w.buf = base64.StdEncoding.AppendEncode(w.buf, f.StructBytes)
		w.buf = append(w.buf, '"')
	}
	w.close()
}

// float writes a float the way protojson does: shortest round-trip digits,
// and the strings "NaN", "Infinity", "-Infinity" for the values JSON
// numbers cannot hold.
func (w *writer) float(f float64, bits int) {
	switch {
	case math.IsNaN(f):
		w.buf = append(w.buf, `"NaN"`...)
	case math.IsInf(f, 1):
		w.buf = append(w.buf, `"Infinity"`...)
	case math.IsInf(f, -1):
		w.buf = append(w.buf, `"-Infinity"`...)
	default:
		w.buf = strconv.AppendFloat(w.buf, f, 'g', -1, bits)
	}
}
