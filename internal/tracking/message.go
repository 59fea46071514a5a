package tracking

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// extraBytes is room for what mapping adds to a message (type,
// messageId, the times): enough that the payload buffer of a batch
// rarely grows.
const extraBytes = 192

// mapper maps the messages of one body.
type mapper struct {
	source      string
	receivedAt  time.Time
	received    string // receivedAt as written in payloads
	batchSentAt []byte
	// The batch's sentAt parsed, once read.
	batchSentRead bool
	batchSentAt0  time.Time
	batchSentErr  error
	buf           []byte // the payloads of the batch, one after another
	scratch       bytes.Buffer
	shared        shared
}

// shared are the context and integrations of a batch envelope. As
// Segment's batch call documents, they apply to every call of the batch:
// a message without its own gets them, and one with its own gets the
// members it lacks (its own win).
type shared struct {
	context, integrations []byte
}

func (s *shared) set(key string, value []byte) {
	if key == "context" {
		s.context = value
	} else {
		s.integrations = value
	}
}

func (s *shared) get(key string) []byte {
	switch key {
	case "context":
		return s.context
	case "integrations":
		return s.integrations
	}
	return nil
}

// appendMerged appends the object own with the members of batch it
// lacks; a null own is batch.
func appendMerged(buf, own, batch []byte) []byte {
	if own[0] == 'n' {
		return append(buf, batch...)
	}
	keys := map[string]bool{}
	_ = event.Members(own, func(key, _ []byte) error {
		keys[string(key)] = true
		return nil
	})
	inner := bytes.TrimSpace(own[1 : len(own)-1])
	buf = append(buf, '{')
	buf = append(buf, inner...)
	sep := len(inner) > 0
	_ = event.Members(batch, func(key, value []byte) error {
		if keys[string(key)] {
			return nil
		}
		if sep {
			buf = append(buf, ',')
		}
		sep = true
		buf = appendString(buf, key)
		buf = append(buf, ':')
		buf = append(buf, value...)
		return nil
	})
	return append(buf, '}')
}

// fields are the members of a message that mapping reads.
type fields struct {
	typ, event                               string
	userID, anonymousID, groupID, previousID bool   // set and not empty
	messageID                                []byte // the raw string
	timestamp, originalTimestamp, sentAt     []byte
}

// message maps one message; kind is empty in a batch, where the message
// says its own.
func (m *mapper) message(index int, raw []byte, kind Kind) (store.EventInsert, *event.RecordError) {
	fail := func(field, format string, args ...any) (store.EventInsert, *event.RecordError) {
		return store.EventInsert{}, &event.RecordError{Index: index, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if len(raw) > MessageMax {
		return fail("", "the message is %d bytes, over the limit of %d (32 KB)", len(raw), MessageMax)
	}
	if raw[0] != '{' {
		return fail("", "a message must be a JSON object, got %s", event.JSONKind(raw))
	}
	if err := event.StorableJSON(raw); err != nil {
		return fail(unstorableField(raw), "%v", err)
	}
	// One walk reads the fields and copies the members kept into the
	// payload, which is dropped again if the message is refused.
	var f fields
	start := len(m.buf)
	m.buf = append(m.buf, '{')
	var hasContext, hasIntegrations bool
	err := event.Members(raw, func(key, value []byte) error {
		if err := f.read(key, value); err != nil {
			return err
		}
		if dropped(string(key)) {
			return nil
		}
		m.buf = appendString(m.buf, key)
		m.buf = append(m.buf, ':')
		if batch := m.shared.get(string(key)); batch != nil {
			hasContext = hasContext || string(key) == "context"
			hasIntegrations = hasIntegrations || string(key) == "integrations"
			m.buf = appendMerged(m.buf, value, batch)
		} else {
			m.buf = append(m.buf, value...)
		}
		m.buf = append(m.buf, ',')
		return nil
	})
	if m.shared.context != nil && !hasContext {
		m.buf = append(append(m.buf, `"context":`...), m.shared.context...)
		m.buf = append(m.buf, ',')
	}
	if m.shared.integrations != nil && !hasIntegrations {
		m.buf = append(append(m.buf, `"integrations":`...), m.shared.integrations...)
		m.buf = append(m.buf, ',')
	}
	e, rerr := m.finish(index, raw, kind, &f, err)
	if rerr != nil {
		m.buf = m.buf[:start]
		return e, rerr
	}
	e.Payload = m.buf[start:len(m.buf):len(m.buf)]
	return e, nil
}

// finish checks the fields read and completes the event and its payload.
func (m *mapper) finish(index int, raw []byte, kind Kind, f *fields, err error) (store.EventInsert, *event.RecordError) {
	fail := func(field, format string, args ...any) (store.EventInsert, *event.RecordError) {
		return store.EventInsert{}, &event.RecordError{Index: index, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return fail(fe.field, "%s", fe.reason)
		}
		return fail("", "%v", err)
	}
	if kind == "" {
		kind = kindOf(f.typ)
		switch {
		case kind != "":
		case f.typ == "":
			return fail("type", "required in a batch: identify, track, page, screen, group or alias")
		default:
			return fail("type", "unknown call kind %s: identify, track, page, screen, group or alias", clip.Quote(f.typ))
		}
	}
	if field, reason := f.missing(kind); field != "" {
		return fail(field, "%s", reason)
	}
	e := store.EventInsert{EventTypeKey: store.EventTypeKey{SourceID: m.source, Type: string(kind), Version: Version}}
	if kind == Track {
		e.Type = f.event
		if rerr := event.ValidateEventType(e.EventTypeKey); rerr != nil {
			if rerr.Field == "type" {
				rerr.Field = "event"
			}
			rerr.Index = index
			return store.EventInsert{}, rerr
		}
	}
	at, field, err := m.eventTime(f)
	if err != nil {
		return fail(field, "%v", err)
	}
	e.EventTime = at
	if f.messageID == nil {
		e.ID = m.deriveID(kind, raw)
	} else {
		e.ID = stringValue(f.messageID)
		if e.ID == "" || len(e.ID) > event.IDMaxLen {
			return fail("messageId", "must be 1 to %d bytes", event.IDMaxLen)
		}
	}
	m.appendSet(kind, e.ID, f, at)
	return e, nil
}

// fieldError is a member of a message of the wrong kind.
type fieldError struct{ field, reason string }

func (e *fieldError) Error() string { return e.field + ": " + e.reason }

// read takes one member of a message.
func (f *fields) read(key, value []byte) error {
	switch string(key) {
	case "type":
		if value[0] == '"' {
			if k := kindOf(string(value[1 : len(value)-1])); k != "" {
				f.typ = string(k) // no copy of the usual values
				return nil
			}
		}
		return str(&f.typ, key, value)
	case "event":
		return str(&f.event, key, value)
	case "userId":
		return id(&f.userID, key, value)
	case "anonymousId":
		return id(&f.anonymousID, key, value)
	case "groupId":
		return id(&f.groupID, key, value)
	case "previousId":
		return id(&f.previousID, key, value)
	case "messageId":
		if value[0] == 'n' {
			return nil
		}
		if value[0] != '"' {
			return &fieldError{"messageId", "must be a string, got " + event.JSONKind(value)}
		}
		f.messageID = value
	case "timestamp":
		f.timestamp = timeValue(value)
	case "originalTimestamp":
		f.originalTimestamp = timeValue(value)
	case "sentAt":
		f.sentAt = timeValue(value)
	case "properties", "traits", "context", "integrations":
		if value[0] != '{' && value[0] != 'n' {
			return &fieldError{string(key), "must be an object, got " + event.JSONKind(value)}
		}
	}
	return nil
}

// timeValue is nil for null, which counts as absent.
func timeValue(v []byte) []byte {
	if v[0] == 'n' {
		return nil
	}
	return v
}

// str reads a string member; null leaves it empty.
func str(dst *string, key, value []byte) error {
	switch value[0] {
	case '"':
		*dst = stringValue(value)
	case 'n':
	default:
		return &fieldError{string(key), "must be a string, got " + event.JSONKind(value)}
	}
	return nil
}

// id notes whether an id is set: a string not empty, or a number (some
// SDKs send numeric user ids).
func id(set *bool, key, value []byte) error {
	switch c := value[0]; {
	case c == '-' || c >= '0' && c <= '9':
		*set = true
	case c == '"':
		*set = len(value) > 2
	case c == 'n':
		*set = false
	default:
		return &fieldError{string(key), "must be a string, got " + event.JSONKind(value)}
	}
	return nil
}

// kindOf is the kind named s, empty when s names none.
func kindOf(s string) Kind {
	switch s {
	case "identify":
		return Identify
	case "track":
		return Track
	case "page":
		return Page
	case "screen":
		return Screen
	case "group":
		return Group
	case "alias":
		return Alias
	}
	return ""
}

// missing names the field a message of the kind lacks, and why.
func (f *fields) missing(kind Kind) (field, reason string) {
	switch {
	case kind == Track && f.event == "":
		return "event", "required in a track call: the name of the event, such as \"Order Completed\""
	case kind == Group && !f.groupID:
		return "groupId", "required in a group call"
	case kind == Alias && !f.previousID:
		return "previousId", "required in an alias call: the id to link to userId"
	case kind == Alias && !f.userID:
		return "userId", "required in an alias call"
	case !f.userID && !f.anonymousID:
		return "userId", "a message needs userId or anonymousId (neither is set)"
	}
	return "", ""
}

// eventTime is the message's time corrected for the client's clock skew
// (see the package documentation); field names the time at fault.
func (m *mapper) eventTime(f *fields) (time.Time, string, error) {
	clientField, clientRaw := "timestamp", f.timestamp
	if clientRaw == nil {
		clientField, clientRaw = "originalTimestamp", f.originalTimestamp
	}
	if clientRaw == nil {
		return m.receivedAt, "", nil
	}
	client, err := parseTime(clientRaw)
	if err != nil {
		return time.Time{}, clientField, err
	}
	sentField := "sentAt"
	var sent time.Time
	switch {
	case f.sentAt != nil:
		sent, err = parseTime(f.sentAt)
	case m.batchSentAt != nil:
		sent, err = m.batchSent()
	default:
		return client, "", nil
	}
	if err != nil {
		return time.Time{}, sentField, err
	}
	// In microseconds, which hold years 1 to 9999 thrice over: a
	// Duration would saturate at 292 years.
	at := time.UnixMicro(m.receivedAt.UnixMicro() - sent.UnixMicro() + client.UnixMicro()).UTC()
	if at.Before(minTime) || at.After(maxTime) {
		return time.Time{}, sentField, fmt.Errorf("corrects %s to %s, outside years 1 to 9999", clientField, at.Format(time.RFC3339))
	}
	return at, "", nil
}

// batchSent is the batch's sentAt, parsed once.
func (m *mapper) batchSent() (time.Time, error) {
	if !m.batchSentRead {
		m.batchSentAt0, m.batchSentErr = parseTime(m.batchSentAt)
		m.batchSentRead = true
	}
	return m.batchSentAt0, m.batchSentErr
}

// minTime and maxTime bound event times to what both engines store.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// parseTime reads an ISO 8601 time with its offset (RFC 3339).
func parseTime(raw []byte) (time.Time, error) {
	if raw[0] != '"' {
		return time.Time{}, fmt.Errorf("must be an ISO 8601 string, got %s", event.JSONKind(raw))
	}
	s := stringValue(raw)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not an ISO 8601 time with its offset (2006-01-02T15:04:05.000Z)", clip.Quote(s))
	}
	t = t.UTC().Truncate(time.Microsecond)
	if t.Before(minTime) {
		return time.Time{}, fmt.Errorf("%s is before the year 1", clip.Quote(s))
	}
	return t, nil
}

// unstorableField names the member of a message that holds text neither
// backend can store; empty when it is a key of the message itself.
func unstorableField(raw []byte) string {
	field := ""
	_ = event.Members(raw, func(key, value []byte) error {
		if event.StorableJSON(value) != nil {
			field = clip.String(string(key))
			return errStop
		}
		return nil
	})
	return field
}

var errStop = errors.New("stop")

// dropped are the members mapping sets itself, or leaves out (writeKey:
// the key is no part of the event).
func dropped(key string) bool {
	switch key {
	case "type", "messageId", "timestamp", "originalTimestamp", "sentAt", "receivedAt", "writeKey":
		return true
	}
	return false
}

// appendSet ends the payload with the members mapping sets: type,
// messageId, the corrected timestamp, the client's originalTimestamp,
// sentAt and receivedAt.
func (m *mapper) appendSet(kind Kind, id string, f *fields, at time.Time) {
	m.buf = append(m.buf, `"type":"`...)
	m.buf = append(m.buf, kind...)
	m.buf = append(m.buf, `","messageId":`...)
	if f.messageID != nil {
		m.buf = append(m.buf, f.messageID...)
	} else {
		m.buf = append(m.buf, '"')
		m.buf = append(m.buf, id...)
		m.buf = append(m.buf, '"')
	}
	m.buf = append(m.buf, `,"timestamp":"`...)
	m.buf = at.AppendFormat(m.buf, time.RFC3339Nano)
	m.buf = append(m.buf, '"')
	if original := cmpOr(f.originalTimestamp, f.timestamp); original != nil {
		m.buf = append(m.buf, `,"originalTimestamp":`...)
		m.buf = append(m.buf, original...)
	}
	if sent := cmpOr(f.sentAt, m.batchSentAt); sent != nil {
		m.buf = append(m.buf, `,"sentAt":`...)
		m.buf = append(m.buf, sent...)
	}
	m.buf = append(m.buf, `,"receivedAt":"`...)
	m.buf = append(m.buf, m.received...)
	m.buf = append(m.buf, `"}`...)
}

func cmpOr(a, b []byte) []byte {
	if a != nil {
		return a
	}
	return b
}

// appendString appends a key as a JSON string: as it was sent when it
// needs no escape, which is nearly always.
func appendString(buf, s []byte) []byte {
	if bytes.IndexByte(s, '"') < 0 && bytes.IndexByte(s, '\\') < 0 && !hasControl(s) {
		buf = append(buf, '"')
		buf = append(buf, s...)
		return append(buf, '"')
	}
	quoted, _ := json.Marshal(string(s))
	return append(buf, quoted...)
}

func hasControl(s []byte) bool {
	for _, c := range s {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// deriveID is the id of a message sent without messageId: the hex MD5 of
// the source, the kind and the message's canonical bytes without sentAt,
// writeKey and receivedAt, which a retry may change.
func (m *mapper) deriveID(kind Kind, raw []byte) string {
	core := make([]byte, 0, len(raw))
	core = append(core, '{')
	_ = event.Members(raw, func(key, value []byte) error {
		switch string(key) {
		case "sentAt", "writeKey", "receivedAt":
			return nil
		}
		core = appendString(core, key)
		core = append(core, ':')
		core = append(core, value...)
		core = append(core, ',')
		return nil
	})
	core = append(bytes.TrimSuffix(core, []byte(",")), '}')
	m.scratch.Reset()
	m.scratch.WriteString(m.source)
	m.scratch.WriteByte('\n')
	m.scratch.WriteString(string(kind))
	m.scratch.WriteByte('\n')
	if err := event.Canonical(&m.scratch, core); err != nil {
		m.scratch.Write(core)
	}
	sum := md5.Sum(m.scratch.Bytes())
	return hex.EncodeToString(sum[:])
}

// Paths are the request paths of the calls: Segment's documented ones,
// the one-letter ones analytics.js posts to, and /v1/import, an alias of
// /v1/batch. The kind is empty for a batch.
var Paths = []struct {
	Path string
	Kind Kind
}{
	{"/v1/identify", Identify}, {"/v1/i", Identify},
	{"/v1/track", Track}, {"/v1/t", Track},
	{"/v1/page", Page}, {"/v1/p", Page},
	{"/v1/screen", Screen}, {"/v1/s", Screen},
	{"/v1/group", Group}, {"/v1/g", Group},
	{"/v1/alias", Alias}, {"/v1/a", Alias},
	{"/v1/batch", ""}, {"/v1/b", ""}, {"/v1/import", ""},
}
