package deliveryjson

import (
	"github.com/promotedai/schema/generated/go/proto/common"
)

func (d *decoder) deviceField(dev *common.Device, key []byte) error {
	switch string(key) {
	case "deviceType", "device_type":
		v, set, err := d.enum(common.DeviceType_value)
		if set {
			dev.DeviceType = common.DeviceType(v)
		}
		return err
	case "brand":
		return d.strInto(&dev.Brand)
	case "manufacturer":
		return d.strInto(&dev.Manufacturer)
	case "identifier":
		return d.strInto(&dev.Identifier)
	case "osVersion", "os_version":
		return d.strInto(&dev.OsVersion)
	case "ipAddress", "ip_address":
		return d.strInto(&dev.IpAddress)
	case "platformAppVersion", "platform_app_version":
		return d.strInto(&dev.PlatformAppVersion)
	case "promotedMobileSdkVersion", "promoted_mobile_sdk_version":
		return d.strInto(&dev.PromotedMobileSdkVersion)
	}
	return d.deviceMessageField(dev, key)
}

// deviceMessageField holds Device's nested messages.
func (d *decoder) deviceMessageField(dev *common.Device, key []byte) error {
	switch string(key) {
	case "locale":
		// Deprecated in the schema, still sent by old clients.
		loc := &common.Locale{}
		//lint:ignore SA1019 deprecated in the schema, still sent by old clients
		dev.Locale = loc
		return d.object(func(k []byte) error { return d.localeField(loc, k) })
	case "screen":
		dev.Screen = &common.Screen{}
		return d.object(func(k []byte) error { return d.screenField(dev.Screen, k) })
	case "location":
		dev.Location = &common.Location{}
		return d.object(func(k []byte) error { return d.locationField(dev.Location, k) })
	case "browser":
		dev.Browser = &common.Browser{}
		return d.object(func(k []byte) error { return d.browserField(dev.Browser, k) })
	}
	return d.skip()
}

func (d *decoder) localeField(l *common.Locale, key []byte) error {
	switch string(key) {
	case "languageCode", "language_code":
		return d.strInto(&l.LanguageCode)
	case "regionCode", "region_code":
		return d.strInto(&l.RegionCode)
	}
	return d.skip()
}

func (d *decoder) screenField(s *common.Screen, key []byte) error {
	switch string(key) {
	case "size":
		s.Size = &common.Size{}
		return d.object(func(k []byte) error { return d.sizeField(s.Size, k) })
	case "scale":
		f, err := d.float(32)
		s.Scale = float32(f)
		return err
	}
	return d.skip()
}

func (d *decoder) sizeField(s *common.Size, key []byte) error {
	var n uint64
	var err error
	switch string(key) {
	case "width":
		n, err = d.uint(32)
		s.Width = uint32(n)
	case "height":
		n, err = d.uint(32)
		s.Height = uint32(n)
	default:
		err = d.skip()
	}
	return err
}

func (d *decoder) locationField(l *common.Location, key []byte) error {
	var err error
	switch string(key) {
	case "latitude":
		l.Latitude, err = d.float(64)
	case "longitude":
		l.Longitude, err = d.float(64)
	case "accuracyInMeters", "accuracy_in_meters":
		l.AccuracyInMeters, err = d.float(64)
	default:
		err = d.skip()
	}
	return err
}

func (d *decoder) browserField(b *common.Browser, key []byte) error {
	switch string(key) {
	case "userAgent", "user_agent":
		return d.strInto(&b.UserAgent)
	case "referrer":
		return d.strInto(&b.Referrer)
	case "viewportSize", "viewport_size":
		b.ViewportSize = &common.Size{}
		return d.object(func(k []byte) error { return d.sizeField(b.ViewportSize, k) })
	case "clientHints", "client_hints":
		b.ClientHints = &common.ClientHints{}
		return d.object(func(k []byte) error { return d.clientHintsField(b.ClientHints, k) })
	}
	return d.skip()
}

func (d *decoder) clientHintsField(h *common.ClientHints, key []byte) error {
	var err error
	switch string(key) {
	case "isMobile", "is_mobile":
		h.IsMobile, err = d.boolean()
		return err
	case "brand":
		h.Brand = h.Brand[:0]
		return d.array(func(int) error {
			b := &common.ClientHintBrand{}
			h.Brand = append(h.Brand, b)
			return d.object(func(k []byte) error { return d.brandField(b, k) })
		})
	case "architecture":
		return d.strInto(&h.Architecture)
	case "model":
		return d.strInto(&h.Model)
	case "platform":
		return d.strInto(&h.Platform)
	case "platformVersion", "platform_version":
		return d.strInto(&h.PlatformVersion)
	case "uaFullVersion", "ua_full_version":
		return d.strInto(&h.UaFullVersion)
	}
	return d.skip()
}

func (d *decoder) brandField(b *common.ClientHintBrand, key []byte) error {
	switch string(key) {
	case "brand":
		return d.strInto(&b.Brand)
	case "version":
		return d.strInto(&b.Version)
	}
	return d.skip()
}
