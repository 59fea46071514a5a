package deliveryjson

import (
	"bytes"
	"encoding/base64"

	"github.com/promotedai/schema/generated/go/proto/common"
	"github.com/promotedai/schema/generated/go/proto/delivery"
)

func (d *decoder) insertionField(ins *delivery.Insertion, key []byte) error {
	switch string(key) {
	case "contentId", "content_id":
		return d.strInto(&ins.ContentId)
	case "retrievalRank", "retrieval_rank":
		n, err := d.uint(64)
		ins.RetrievalRank = d.slab.uint64(n)
		return err
	case "retrievalScore", "retrieval_score":
		f, err := d.float(32)
		v := float32(f)
		ins.RetrievalScore = &v
		return err
	case "properties":
		ins.Properties = d.slab.properties()
		return d.object(func(k []byte) error {
			d.filterNext = true
			err := d.propertiesField(ins.Properties, k)
			d.filterNext = false
			return err
		})
	case "position":
		n, err := d.uint(64)
		ins.Position = d.slab.uint64(n)
		return err
	case "insertionId", "insertion_id":
		return d.strInto(&ins.InsertionId)
	case "requestId", "request_id":
		return d.strInto(&ins.RequestId)
	case "viewId", "view_id":
		return d.strInto(&ins.ViewId)
	case "autoViewId", "auto_view_id":
		return d.strInto(&ins.AutoViewId)
	case "sessionId", "session_id":
		return d.strInto(&ins.SessionId)
	}
	return d.insertionField2(ins, key)
}

// insertionField2 holds the fields an insertion rarely carries (they
// default from the request).
func (d *decoder) insertionField2(ins *delivery.Insertion, key []byte) error {
	switch string(key) {
	case "platformId", "platform_id":
		return d.uint64Into(&ins.PlatformId)
	case "userInfo", "user_info":
		ins.UserInfo = &common.UserInfo{}
		return d.object(func(k []byte) error { return d.userInfoField(ins.UserInfo, k) })
	case "timing":
		ins.Timing = &common.Timing{}
		return d.object(func(k []byte) error { return d.timingField(ins.Timing, k) })
	case "clientInfo", "client_info":
		ins.ClientInfo = &common.ClientInfo{}
		return d.object(func(k []byte) error { return d.clientInfoField(ins.ClientInfo, k) })
	}
	return d.skip()
}

// propertiesField also reads the Go SDK's oneof wrapper
// "StructField":{"Struct":{...}} or {"StructBytes":"base64"}.
func (d *decoder) propertiesField(p *common.Properties, key []byte) error {
	switch string(key) {
	case "struct":
		return d.structInto(p)
	case "structBytes", "struct_bytes":
		return d.structBytesInto(p)
	case "StructField":
		return d.object(func(k []byte) error {
			switch string(k) {
			case "Struct":
				return d.structInto(p)
			case "StructBytes":
				return d.structBytesInto(p)
			}
			return d.skip()
		})
	}
	return d.skip()
}

func (d *decoder) structInto(p *common.Properties) error {
	s, err := d.structValue()
	ps := d.slab.propertiesStruct()
	ps.Struct = s
	p.StructField = ps
	return err
}

func (d *decoder) structBytesInto(p *common.Properties) error {
	b, err := d.bytes()
	p.StructField = &common.Properties_StructBytes{StructBytes: b}
	return err
}

// bytes reads base64 the way protojson does: URL-safe when the text has
// '-' or '_', unpadded when its length is not a multiple of four.
func (d *decoder) bytes() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.wrongType("a base64 string")
	}
	start := d.pos
	s, err := d.stringBytes()
	if err != nil {
		return nil, err
	}
	enc := base64.StdEncoding
	if bytes.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		return nil, &Error{Msg: "invalid base64 in " + describe(d.data[start:d.pos])}
	}
	return out[:n], nil
}
