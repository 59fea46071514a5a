package deliveryjson

import (
	"github.com/promotedai/schema/generated/go/proto/common"
	"github.com/promotedai/schema/generated/go/proto/delivery"
)

// Each message has one field function: a switch over both spellings of
// every key (JSON name and proto name), unknown keys skipped.

func (d *decoder) requestField(req *delivery.Request, key []byte) error {
	switch string(key) {
	case "platformId", "platform_id":
		return d.uint64Into(&req.PlatformId)
	case "userInfo", "user_info":
		req.UserInfo = &common.UserInfo{}
		return d.object(func(k []byte) error { return d.userInfoField(req.UserInfo, k) })
	case "timing":
		req.Timing = &common.Timing{}
		return d.object(func(k []byte) error { return d.timingField(req.Timing, k) })
	case "clientInfo", "client_info":
		req.ClientInfo = &common.ClientInfo{}
		return d.object(func(k []byte) error { return d.clientInfoField(req.ClientInfo, k) })
	case "device":
		req.Device = &common.Device{}
		return d.object(func(k []byte) error { return d.deviceField(req.Device, k) })
	case "requestId", "request_id":
		return d.strInto(&req.RequestId)
	case "viewId", "view_id":
		return d.strInto(&req.ViewId)
	case "autoViewId", "auto_view_id":
		return d.strInto(&req.AutoViewId)
	case "sessionId", "session_id":
		return d.strInto(&req.SessionId)
	case "clientRequestId", "client_request_id":
		return d.strInto(&req.ClientRequestId)
	case "useCase", "use_case":
		v, set, err := d.enum(delivery.UseCase_value)
		if set {
			req.UseCase = delivery.UseCase(v)
		}
		return err
	case "searchQuery", "search_query":
		return d.strInto(&req.SearchQuery)
	}
	return d.requestField2(req, key)
}

// requestField2 holds the rest of Request's fields, split only to keep
// each switch readable.
func (d *decoder) requestField2(req *delivery.Request, key []byte) error {
	switch string(key) {
	case "paging":
		req.Paging = &delivery.Paging{}
		return d.object(func(k []byte) error { return d.pagingField(req.Paging, k) })
	case "insertion":
		return d.insertions(req)
	case "insertionMatrixHeaders", "insertion_matrix_headers":
		req.InsertionMatrixHeaders = req.InsertionMatrixHeaders[:0]
		return d.array(func(int) error {
			s, err := d.str()
			req.InsertionMatrixHeaders = append(req.InsertionMatrixHeaders, s)
			return err
		})
	case "insertionMatrix", "insertion_matrix":
		var err error
		req.InsertionMatrix, err = d.listValue()
		return err
	case "properties":
		req.Properties = &common.Properties{}
		return d.object(func(k []byte) error { return d.propertiesField(req.Properties, k) })
	case "disablePersonalization", "disable_personalization":
		var err error
		req.DisablePersonalization, err = d.boolean()
		return err
	}
	return d.skip()
}

func (d *decoder) insertions(req *delivery.Request) error {
	req.Insertion = req.Insertion[:0]
	return d.array(func(int) error {
		ins := d.slab.insertion()
		req.Insertion = append(req.Insertion, ins)
		return d.object(func(k []byte) error { return d.insertionField(ins, k) })
	})
}

// pagingField also reads the Go SDK's oneof wrapper
// "Starting":{"Offset":N} or {"Cursor":"c"}.
func (d *decoder) pagingField(p *delivery.Paging, key []byte) error {
	switch string(key) {
	case "pagingId", "paging_id":
		return d.strInto(&p.PagingId)
	case "size":
		n, err := d.int(32)
		p.Size = int32(n)
		return err
	case "cursor":
		return d.cursor(p)
	case "offset":
		return d.offset(p)
	case "Starting":
		return d.object(func(k []byte) error {
			switch string(k) {
			case "Cursor":
				return d.cursor(p)
			case "Offset":
				return d.offset(p)
			}
			return d.skip()
		})
	}
	return d.skip()
}

func (d *decoder) cursor(p *delivery.Paging) error {
	s, err := d.str()
	p.Starting = &delivery.Paging_Cursor{Cursor: s}
	return err
}

func (d *decoder) offset(p *delivery.Paging) error {
	n, err := d.int(32)
	p.Starting = &delivery.Paging_Offset{Offset: int32(n)}
	return err
}

func (d *decoder) strInto(dst *string) error {
	var err error
	*dst, err = d.str()
	return err
}

func (d *decoder) uint64Into(dst *uint64) error {
	var err error
	*dst, err = d.uint(64)
	return err
}
