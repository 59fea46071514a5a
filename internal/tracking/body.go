package tracking

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// Kind is the kind of a call, the type of its messages.
type Kind string

// The kinds of call.
const (
	Identify Kind = "identify"
	Track    Kind = "track"
	Page     Kind = "page"
	Screen   Kind = "screen"
	Group    Kind = "group"
	Alias    Kind = "alias"
)

// Limits of the protocol, as Segment's API sets them: a message, and a
// whole request body (a batch), counted after gzip decoding.
const (
	MessageMax = 32 << 10
	BatchMax   = 500 << 10
)

// Version is the version of the event types of tracking calls.
const Version = "1"

var (
	// ErrMalformed is a body that holds no message at all: not JSON, not
	// an object, a batch without its array.
	ErrMalformed = errors.New("malformed tracking call")
	// ErrTooLarge is a body over BatchMax.
	ErrTooLarge = errors.New("tracking call too large")
)

// Body is a request body read but not mapped: its messages and the write
// key it carries.
type Body struct {
	// WriteKey is the body's writeKey: a batch's, else that of its first
	// message that has one; empty when none.
	WriteKey string
	kind     Kind // empty for a batch
	sentAt   []byte
	// shared are the batch's own context and integrations, which apply
	// to every message of the batch (see mapper.shared).
	shared   shared
	messages [][]byte
}

// Parse reads the body of a call of the kind, or of a batch when kind is
// empty. data must not be modified while the Body is in use.
func Parse(data []byte, kind Kind) (*Body, error) {
	if len(data) > BatchMax {
		return nil, fmt.Errorf("%w: the body is %d bytes, over the %d of a batch: send fewer messages at once", ErrTooLarge, len(data), BatchMax)
	}
	if !event.ValidJSON(data) {
		err := json.Unmarshal(data, new(json.RawMessage))
		return nil, fmt.Errorf("%w: invalid JSON: %v", ErrMalformed, err)
	}
	b := &Body{kind: kind}
	if kind != "" {
		b.messages = [][]byte{bytes.TrimSpace(data)}
		err := event.Members(data, func(key, value []byte) error {
			if string(key) == "writeKey" {
				b.WriteKey = stringValue(value)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%w: the body %v", ErrMalformed, err)
		}
		return b, nil
	}
	var list []byte
	err := event.Members(data, func(key, value []byte) error {
		switch string(key) {
		case "batch":
			list = value
		case "writeKey":
			b.WriteKey = stringValue(value)
		case "sentAt":
			b.sentAt = value
		case "context", "integrations":
			if value[0] != '{' && value[0] != 'n' {
				return fmt.Errorf("%s must be an object, got %s", key, event.JSONKind(value))
			}
			if err := event.StorableJSON(value); err != nil {
				return fmt.Errorf("%s %v", key, err)
			}
			if value[0] == '{' && len(bytes.TrimSpace(value[1:len(value)-1])) > 0 {
				b.shared.set(string(key), value)
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: the body %v", ErrMalformed, err)
	case list == nil:
		return nil, fmt.Errorf(`%w: the body has no "batch": send {"batch": [messages...]}`, ErrMalformed)
	}
	err = event.Elements(list, func(_ int, m []byte) error {
		b.messages = append(b.messages, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: batch %v", ErrMalformed, err)
	}
	if b.WriteKey == "" {
		b.WriteKey = firstWriteKey(b.messages)
	}
	return b, nil
}

// Len is the number of messages.
func (b *Body) Len() int { return len(b.messages) }

// firstWriteKey is the writeKey of the first message that has one.
func firstWriteKey(messages [][]byte) string {
	for _, m := range messages {
		var key string
		_ = event.Members(m, func(k, v []byte) error {
			if string(k) == "writeKey" {
				key = stringValue(v)
			}
			return nil
		})
		if key != "" {
			return key
		}
	}
	return ""
}

// stringValue is the string a JSON value holds, empty when it holds none.
func stringValue(raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return ""
	}
	return s
}

// Map turns the messages into events of the source received at
// receivedAt: the good ones in Events, the others in Rejected, each with
// its index in the batch (0 for a single call).
func (b *Body) Map(source string, receivedAt time.Time) *event.Batch {
	out := &event.Batch{Records: len(b.messages), Events: make([]store.EventInsert, 0, len(b.messages)), Index: make([]int, 0, len(b.messages))}
	m := mapper{source: source, receivedAt: receivedAt.UTC().Truncate(time.Microsecond), batchSentAt: b.sentAt, shared: b.shared}
	m.received = m.receivedAt.Format(time.RFC3339Nano)
	size := 0
	for _, raw := range b.messages {
		size += len(raw) + extraBytes + len(b.shared.context) + len(b.shared.integrations)
	}
	m.buf = make([]byte, 0, size)
	for i, raw := range b.messages {
		e, rerr := m.message(i, raw, b.kind)
		if rerr != nil {
			out.Rejected = append(out.Rejected, rerr)
			continue
		}
		out.Events = append(out.Events, e)
		out.Index = append(out.Index, i)
	}
	return out
}
