package delivery

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/promotedai/schema/generated/go/proto/common"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/store"
)

// What the stored delivery events say of their user beyond the record:
// userInfo.isInternalUser marks the record (InternalUserField), and with
// delivery.pseudonymize_user_id the userId is replaced by its pseudonym.

// InternalUserField is the top-level payload field, true, of the
// delivery events of an internal user (userInfo.isInternalUser): the
// engagement statistics leave them out.
const InternalUserField = "internalUser"

// PseudonymKeyLabel derives the pseudonymisation key from the server's
// key (see PseudonymKey).
const PseudonymKeyLabel = "weft delivery.pseudonymize_user_id v1"

// PseudonymKey derives the key pseudonyms are made with from the
// server's secret key, which the operator holds outside the database.
func PseudonymKey(serverKey []byte) []byte {
	m := hmac.New(sha256.New, serverKey)
	m.Write([]byte(PseudonymKeyLabel))
	return m.Sum(nil)
}

// randomKey is the pseudonym key of a Service given none: pseudonyms then
// differ from one process to the next, and the link events still join
// each to its user.
func randomKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return k
}

// pseudonym is the keyed hash of a userId: "p1:" and 32 hex digits.
func pseudonym(key []byte, userID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	return "p1:" + hex.EncodeToString(m.Sum(nil)[:16])
}

// userMark is what recordUser found and changed of a record's user.
type userMark struct {
	internal bool
	// userID is the userId a pseudonym replaced; pseudonym is that.
	userID, pseudonym string
}

// recordUser reads the record's user info (its own, or its request's),
// and, when pseudonymising, replaces its userId with the pseudonym. The
// user info is copied first: fillContext shares the LogRequest's between
// records.
func (s *Service) recordUser(rm protoreflect.Message, pseudonymize bool) userMark {
	holder, fd := userInfoField(rm)
	if holder == nil {
		return userMark{}
	}
	ui, ok := holder.Get(fd).Message().Interface().(*common.UserInfo)
	if !ok {
		return userMark{}
	}
	mark := userMark{internal: ui.GetIsInternalUser()}
	if !pseudonymize || ui.GetUserId() == "" {
		return mark
	}
	mark.userID, mark.pseudonym = ui.GetUserId(), pseudonym(s.opts.PseudonymKey, ui.GetUserId())
	c := proto.Clone(ui).(*common.UserInfo)
	c.UserId = mark.pseudonym
	holder.Set(fd, protoreflect.ValueOfMessage(c.ProtoReflect()))
	return mark
}

// userInfoField finds the set user_info field of a record or of its
// request; nil when there is none.
func userInfoField(rm protoreflect.Message) (protoreflect.Message, protoreflect.FieldDescriptor) {
	fields := rm.Descriptor().Fields()
	if fd := fields.ByName("user_info"); fd != nil {
		if rm.Has(fd) {
			return rm, fd
		}
		return nil, nil
	}
	rf := fields.ByName("request")
	if rf == nil || rf.Message() == nil || !rm.Has(rf) {
		return nil, nil
	}
	req := rm.Get(rf).Message()
	if fd := req.Descriptor().Fields().ByName("user_info"); fd != nil && req.Has(fd) {
		return rm.Mutable(rf).Message(), fd
	}
	return nil, nil
}

// fields are the top-level payload fields a mark adds.
func (m userMark) fields() map[string]any {
	out := map[string]any{}
	if m.internal {
		out[InternalUserField] = true
	}
	if m.pseudonym != "" {
		out[config.PseudonymField] = m.pseudonym
	}
	return out
}

// withFields adds top-level fields to a JSON object.
func withFields(obj []byte, fields map[string]any) []byte {
	if len(fields) == 0 {
		return obj
	}
	add, _ := json.Marshal(fields) // plain data
	if len(obj) <= 2 {             // {}
		return add
	}
	out := append(add[:len(add)-1:len(add)-1], ',')
	return append(out, obj[1:]...)
}

// linkEvent is the event that links a pseudonym to its userId (see
// config.PseudonymEventType), one per user: its id is made of the
// pseudonym, so that every later one is a duplicate.
func linkEvent(m userMark, received time.Time) store.EventInsert {
	raw, _ := json.Marshal(map[string]any{config.PseudonymField: m.pseudonym, "userInfo": map[string]string{"userId": m.userID}})
	payload := canonicalOf(raw)
	return store.EventInsert{
		ID:           config.DeliverySourceID + "/" + config.PseudonymEventType + "/" + m.pseudonym,
		EventTypeKey: store.EventTypeKey{SourceID: config.DeliverySourceID, Type: config.PseudonymEventType, Version: EventVersion},
		EventTime:    received.UTC().Truncate(time.Microsecond),
		Payload:      payload,
	}
}
