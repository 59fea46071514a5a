package deliveryjson

import (
	"github.com/promotedai/schema/generated/go/proto/common"
)

func (d *decoder) userInfoField(u *common.UserInfo, key []byte) error {
	var err error
	switch string(key) {
	case "anonUserId", "anon_user_id":
		return d.strInto(&u.AnonUserId)
	case "userId", "user_id":
		return d.strInto(&u.UserId)
	case "logUserId", "log_user_id":
		return d.strInto(&u.LogUserId)
	case "retainedUserId", "retained_user_id":
		return d.strInto(&u.RetainedUserId)
	case "isInternalUser", "is_internal_user":
		u.IsInternalUser, err = d.boolean()
		return err
	case "ignoreUsage", "ignore_usage":
		u.IgnoreUsage, err = d.boolean()
		return err
	}
	return d.skip()
}

func (d *decoder) timingField(t *common.Timing, key []byte) error {
	switch string(key) {
	case "clientLogTimestamp", "client_log_timestamp":
		return d.uint64Into(&t.ClientLogTimestamp)
	}
	return d.skip()
}

func (d *decoder) clientInfoField(c *common.ClientInfo, key []byte) error {
	switch string(key) {
	case "clientType", "client_type":
		v, set, err := d.enum(common.ClientInfo_ClientType_value)
		if set {
			c.ClientType = common.ClientInfo_ClientType(v)
		}
		return err
	case "trafficType", "traffic_type":
		v, set, err := d.enum(common.ClientInfo_TrafficType_value)
		if set {
			c.TrafficType = common.ClientInfo_TrafficType(v)
		}
		return err
	}
	return d.skip()
}
