package deliveryjson

import (
	"github.com/promotedai/schema/generated/go/proto/common"
	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/types/known/structpb"
)

func (g gen) size() *common.Size {
	if g.coin() {
		return nil
	}
	return &common.Size{Width: g.r.Uint32(), Height: uint32(g.r.IntN(3000))}
}

func (g gen) device() *common.Device {
	if g.coin() {
		return nil
	}
	dev := &common.Device{DeviceType: common.DeviceType(g.pick(common.DeviceType_name)),
		Brand: g.maybeStr(), Manufacturer: g.maybeStr(), Identifier: g.maybeStr(),
		OsVersion: g.maybeStr(), IpAddress: g.maybeStr(), PlatformAppVersion: g.maybeStr(),
		PromotedMobileSdkVersion: g.maybeStr()}
	if g.coin() {
		//lint:ignore SA1019 the decoder reads it: old clients send it
		dev.Locale = &common.Locale{LanguageCode: g.maybeStr(), RegionCode: g.maybeStr()}
	}
	if g.coin() {
		dev.Screen = &common.Screen{Size: g.size(), Scale: g.float32()}
	}
	if g.coin() {
		dev.Location = &common.Location{Latitude: g.float64(), Longitude: g.float64(),
			AccuracyInMeters: g.float64()}
	}
	if g.coin() {
		dev.Browser = &common.Browser{UserAgent: g.maybeStr(), ViewportSize: g.size(),
			ClientHints: g.clientHints(), Referrer: g.maybeStr()}
	}
	return dev
}

func (g gen) clientHints() *common.ClientHints {
	if g.coin() {
		return nil
	}
	h := &common.ClientHints{IsMobile: g.coin(), Architecture: g.maybeStr(), Model: g.maybeStr(),
		Platform: g.maybeStr(), PlatformVersion: g.maybeStr(), UaFullVersion: g.maybeStr()}
	for range g.r.IntN(3) {
		h.Brand = append(h.Brand, &common.ClientHintBrand{Brand: g.maybeStr(), Version: g.maybeStr()})
	}
	return h
}

func (g gen) paging() *delivery.Paging {
	if g.coin() {
		return nil
	}
	p := &delivery.Paging{PagingId: g.maybeStr(), Size: g.r.Int32() - g.r.Int32()}
	switch g.r.IntN(3) {
	case 0:
		p.Starting = &delivery.Paging_Offset{Offset: int32(g.r.IntN(1000))}
	case 1:
		p.Starting = &delivery.Paging_Cursor{Cursor: g.maybeStr()}
	}
	return p
}

func (g gen) request() *delivery.Request {
	req := &delivery.Request{PlatformId: g.u64(), UserInfo: g.userInfo(), Timing: g.timing(),
		ClientInfo: g.clientInfo(), Device: g.device(), RequestId: g.maybeStr(),
		ViewId: g.maybeStr(), AutoViewId: g.maybeStr(), SessionId: g.maybeStr(),
		ClientRequestId: g.maybeStr(), UseCase: delivery.UseCase(g.pick(delivery.UseCase_name)),
		SearchQuery: g.maybeStr(), Paging: g.paging(), Properties: g.properties(),
		DisablePersonalization: g.coin()}
	for range g.r.IntN(5) {
		req.Insertion = append(req.Insertion, g.insertion())
	}
	if g.coin() {
		req.InsertionMatrixHeaders = []string{"contentId", g.str()}
		req.InsertionMatrix = &structpb.ListValue{}
		for range g.r.IntN(3) {
			row := g.list(1)
			req.InsertionMatrix.Values = append(req.InsertionMatrix.Values, structpb.NewListValue(row))
		}
	}
	return req
}

func (g gen) response() *delivery.Response {
	resp := &delivery.Response{RequestId: g.maybeStr()}
	for range g.r.IntN(5) {
		resp.Insertion = append(resp.Insertion, g.insertion())
	}
	if g.coin() {
		resp.PagingInfo = &delivery.PagingInfo{PagingId: g.maybeStr(), Cursor: g.maybeStr()}
	}
	if g.coin() {
		s := g.str()
		resp.IntrospectionData = &s
	}
	return resp
}
