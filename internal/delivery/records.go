package delivery

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"time"
	"unicode/utf8"

	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// EventVersion is the version of every delivery event type.
const EventVersion = "1"

// contextFields are the LogRequest fields that are defaults of its
// records.
var contextFields = []protoreflect.Name{"platform_id", "user_info", "timing", "client_info"}

// naturalIDs are, per event type, the fields whose first non-empty value
// identifies a record, so a retried LogRequest yields the same event ids.
var naturalIDs = map[string][][]protoreflect.Name{
	"delivery_log":      {{"request", "request_id"}, {"request", "client_request_id"}},
	"request":           {{"request_id"}, {"client_request_id"}},
	"impression":        {{"impression_id"}},
	"action":            {{"action_id"}},
	"cohort_membership": {{"membership_id"}},
	"view":              {{"view_id"}},
	"auto_view":         {{"auto_view_id"}},
	"insertion":         {{"insertion_id"}},
}

// naturalIDMax bounds a natural id kept in an event id; longer ones are
// hashed (event ids are at most event.IDMaxLen bytes).
const naturalIDMax = 200

// events turns a LogRequest into one event per record (see the package
// documentation for the format). received is the event time of records
// without timing.clientLogTimestamp.
func (s *Service) events(lr *ev.LogRequest, received time.Time) []store.EventInsert {
	// Impressions and actions may name insertions of the delivery logs
	// beside them, which come later in field order.
	for _, dl := range lr.GetDeliveryLog() {
		s.rememberServed(dl)
	}
	lrm := lr.ProtoReflect()
	st := s.settings.Load()
	var out []store.EventInsert
	linked := map[string]bool{}
	add := func(typ string, rm protoreflect.Message) {
		e, mark := s.recordEvent(typ, rm, lrm, received, st)
		out = append(out, e)
		if mark.pseudonym != "" && !linked[mark.pseudonym] {
			linked[mark.pseudonym] = true
			out = append(out, linkEvent(mark, received))
		}
	}
	for _, fd := range recordFields(lrm.Descriptor()) {
		typ := string(fd.Name())
		if !fd.IsList() {
			if lrm.Has(fd) {
				add(typ, lrm.Get(fd).Message())
			}
			continue
		}
		list := lrm.Get(fd).List()
		for j := 0; j < list.Len(); j++ {
			add(typ, list.Get(j).Message())
		}
	}
	return out
}

// recordFields are the LogRequest fields that hold records: every
// message field but the context ones. Each is an event type.
func recordFields(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	fields := md.Fields()
	var out []protoreflect.FieldDescriptor
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); fd.Kind() == protoreflect.MessageKind && !isContextField(fd.Name()) {
			out = append(out, fd)
		}
	}
	return out
}

// EventTypes are the event types /log and the API's delivery logs
// append. The server registers them at start, so that a strict catalog
// (--strict-catalog) accepts them.
func EventTypes() []store.EventTypeKey {
	var out []store.EventTypeKey
	for _, fd := range recordFields((&ev.LogRequest{}).ProtoReflect().Descriptor()) {
		out = append(out, store.EventTypeKey{SourceID: config.DeliverySourceID, Type: string(fd.Name()), Version: EventVersion})
	}
	return append(out, store.EventTypeKey{SourceID: config.DeliverySourceID, Type: config.PseudonymEventType, Version: EventVersion})
}

func isContextField(n protoreflect.Name) bool {
	for _, c := range contextFields {
		if c == n {
			return true
		}
	}
	return false
}

func (s *Service) recordEvent(typ string, rm, lrm protoreflect.Message, received time.Time, st *settings) (store.EventInsert, userMark) {
	fillContext(rm, lrm)
	if typ == "impression" || typ == "action" {
		s.fillContent(rm)
	}
	mark := s.recordUser(rm, st.pseudonymize)
	raw, err := protojson.Marshal(rm.Interface())
	if err != nil {
		raw = []byte("{}") // only invalid UTF-8 fails, and parsing refused that
	}
	payload := canonicalOf(withFields(raw, mark.fields()))
	return store.EventInsert{
		ID:           eventID(typ, rm, payload),
		EventTypeKey: store.EventTypeKey{SourceID: config.DeliverySourceID, Type: typ, Version: EventVersion},
		EventTime:    eventTime(rm, received),
		Payload:      payload,
	}, mark
}

// canonicalOf is the canonical form of a JSON object (raw itself should
// it not parse). protojson varies its white space on purpose; the
// canonical form makes the payload, and the hash of it, the same on every
// retry.
func canonicalOf(raw []byte) []byte {
	var payload bytes.Buffer
	if err := event.Canonical(&payload, raw); err != nil {
		return raw
	}
	return payload.Bytes()
}

// fillContext copies the LogRequest's platformId, userInfo, timing and
// clientInfo into a record that lacks them. A DeliveryLog has only a
// platformId; the others go into its request.
func fillContext(rm, lrm protoreflect.Message) {
	lrFields := lrm.Descriptor().Fields()
	for _, name := range contextFields {
		lfd := lrFields.ByName(name)
		if !lrm.Has(lfd) {
			continue
		}
		target := rm
		fd := rm.Descriptor().Fields().ByName(name)
		if fd == nil {
			rf := rm.Descriptor().Fields().ByName("request")
			if rf == nil || rf.Message() == nil {
				continue
			}
			target = rm.Mutable(rf).Message()
			if fd = target.Descriptor().Fields().ByName(name); fd == nil {
				continue
			}
		}
		if !target.Has(fd) {
			target.Set(fd, lrm.Get(lfd))
		}
	}
}

// fillContent gives an impression or action without a contentId the
// content of the insertion it names, when this server served it lately.
func (s *Service) fillContent(rm protoreflect.Message) {
	fields := rm.Descriptor().Fields()
	content, insertion := fields.ByName("content_id"), fields.ByName("insertion_id")
	if rm.Get(content).String() != "" {
		return
	}
	if c := s.served.content(rm.Get(insertion).String()); c != "" {
		rm.Set(content, protoreflect.ValueOfString(c))
	}
}

// rememberServed notes the insertions of a delivery log's response.
func (s *Service) rememberServed(dl *pb.DeliveryLog) {
	for _, ins := range dl.GetResponse().GetInsertion() {
		s.served.add(ins.GetInsertionId(), ins.GetContentId())
	}
}

// lookup follows a path of field names through set message fields.
func lookup(m protoreflect.Message, path ...protoreflect.Name) (protoreflect.Value, bool) {
	var v protoreflect.Value
	for i, name := range path {
		fd := m.Descriptor().Fields().ByName(name)
		if fd == nil || !m.Has(fd) {
			return v, false
		}
		v = m.Get(fd)
		if i < len(path)-1 {
			if fd.Message() == nil {
				return v, false
			}
			m = v.Message()
		}
	}
	return v, true
}

// eventID is delivery/<type>/<natural id>, or delivery/<type>/<hash of
// the payload> for records without one.
func eventID(typ string, rm protoreflect.Message, payload []byte) string {
	prefix := config.DeliverySourceID + "/" + typ + "/"
	for _, path := range naturalIDs[typ] {
		if v, ok := lookup(rm, path...); ok {
			if id := v.String(); id != "" && len(id) <= naturalIDMax && utf8.ValidString(id) && !bytes.ContainsRune([]byte(id), 0) {
				return prefix + id
			}
		}
	}
	sum := sha256.Sum256(payload)
	return prefix + hex.EncodeToString(sum[:16])
}

// eventTime is timing.clientLogTimestamp (the record's, or its
// request's), else when the LogRequest arrived.
func eventTime(rm protoreflect.Message, received time.Time) time.Time {
	for _, path := range [][]protoreflect.Name{{"timing", "client_log_timestamp"}, {"request", "timing", "client_log_timestamp"}} {
		if v, ok := lookup(rm, path...); ok {
			ms := v.Uint()
			// Both engines store years 1 to 9999; later stamps are garbage.
			if ms > 0 && ms < 253402300799000 {
				return time.UnixMilli(int64(ms)).UTC()
			}
		}
	}
	return received.UTC().Truncate(time.Microsecond)
}
