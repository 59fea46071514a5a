package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/store"
)

// RecordError is a record that was rejected, and why.
type RecordError struct {
	// Index is the record's 0-based position in the request: the array
	// index, or the count of non-blank NDJSON lines before it.
	Index int `json:"index"`
	// Field is the record field at fault, empty when the record as a whole is.
	Field  string `json:"field,omitempty"`
	Reason string `json:"-"`
}

func (e *RecordError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// MarshalJSON writes {"index", "field", "error"}.
func (e *RecordError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Index int    `json:"index"`
		Field string `json:"field,omitempty"`
		Error string `json:"error"`
	}{e.Index, e.Field, e.Error()})
}

// wireRecord is one record as clients send it. Unknown fields are refused.
type wireRecord struct {
	ID        *string         `json:"id"`
	SourceID  string          `json:"source_id"`
	Type      string          `json:"type"`
	Version   string          `json:"version"`
	EventTime json.RawMessage `json:"event_time"`
	Payload   json.RawMessage `json:"payload"`
}

// IDMaxLen bounds client-given ids.
const IDMaxLen = 256

// Event type parts: letters, digits and a few separators, never a slash
// (the event type id joins the parts with slashes), with a length bound.
var (
	namePart    = part{max: 128, extra: "_.:-", desc: "1 to 128 letters, digits, _ . : or -"}
	versionPart = part{max: 32, extra: "_.-", desc: "1 to 32 letters, digits, _ . or - (e.g. 1-0-0)"}
)

type part struct {
	max   int
	extra string
	desc  string
}

// valid is a hand-written check, several times faster than a regexp on the
// ingest hot path.
func (p part) valid(s string) bool {
	if len(s) == 0 || len(s) > p.max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && strings.IndexByte(p.extra, c) < 0 {
			return false
		}
	}
	return true
}

// minTime and maxTime bound event times to what both engines store and
// RFC 3339 can write: years 1 to 9999.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// validate checks a decoded record and turns it into an insert.
func (w *wireRecord) validate(index int) (store.EventInsert, *RecordError) {
	fail := func(field, format string, args ...any) (store.EventInsert, *RecordError) {
		return store.EventInsert{}, &RecordError{Index: index, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	key := store.EventTypeKey{SourceID: w.SourceID, Type: w.Type, Version: w.Version}
	if err := ValidateEventType(key); err != nil {
		return store.EventInsert{}, &RecordError{Index: index, Field: err.Field, Reason: err.Reason}
	}
	at, err := parseTime(w.EventTime)
	if err != nil {
		return fail("event_time", "%v", err)
	}
	payload, err := checkPayload(w.Payload)
	if err != nil {
		return fail("payload", "%v", err)
	}
	e := store.EventInsert{
		EventTypeKey: key,
		EventTime:    at,
		Payload:      payload,
	}
	if w.ID != nil {
		id := *w.ID
		switch {
		case id == "":
			return fail("id", "must not be empty (leave it out to have one derived)")
		case len(id) > IDMaxLen:
			return fail("id", "longer than %d bytes", IDMaxLen)
		case strings.ContainsRune(id, 0) || !utf8.ValidString(id):
			return fail("id", "must be valid UTF-8 without NUL characters")
		}
		e.ID = id
	} else {
		e.ID = DeriveID(e)
	}
	// Checked last, so a record with another fault is refused for that one
	// as before.
	if msg := epochSeconds(w.EventTime); msg != "" {
		return fail("event_time", "%s", msg)
	}
	return e, nil
}

// secondsBelow bounds the numbers taken for epoch seconds: 1e11 ms is
// 1973-03-03, while 1e11 s is the year 5138, so a number of smaller
// magnitude is far likelier seconds sent by mistake than a millisecond
// timestamp of 1967 to 1973.
const secondsBelow = 1e11

// epochSeconds explains why a numeric event_time that looks like epoch
// seconds is refused (empty when it does not): read as milliseconds it
// would be stored as a moment of January 1970 without a word.
func epochSeconds(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return ""
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.Abs(v) >= secondsBelow {
		return ""
	}
	asSeconds := time.UnixMilli(int64(math.Round(v * 1000))).UTC().Format(time.RFC3339)
	return fmt.Sprintf("%s looks like epoch seconds (%s); event_time takes epoch milliseconds (%.0f) or an RFC 3339 string", raw, asSeconds, v*1000)
}

// ValidateEventType checks the parts of an event type key: each required,
// none with a slash (the id joins them with slashes).
func ValidateEventType(k store.EventTypeKey) *RecordError {
	for _, f := range []struct {
		name, value string
		part        part
	}{
		{"source_id", k.SourceID, namePart},
		{"type", k.Type, namePart},
		{"version", k.Version, versionPart},
	} {
		if f.value == "" {
			return &RecordError{Field: f.name, Reason: "required"}
		}
		if !f.part.valid(f.value) {
			return &RecordError{Field: f.name, Reason: fmt.Sprintf("%q must be %s", f.value, f.part.desc)}
		}
	}
	return nil
}

// parseTime reads an RFC 3339 string (or "YYYY-MM-DD HH:MM:SS[.ffffff]",
// taken as UTC, the format Meiro's loaders write) or epoch milliseconds.
func parseTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, errors.New("required")
	}
	var t time.Time
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return t, err
		}
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			if t, err = time.Parse("2006-01-02 15:04:05.999999999", s); err != nil {
				return t, fmt.Errorf("%q is neither RFC 3339 (2006-01-02T15:04:05Z) nor epoch milliseconds", s)
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		ms, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(ms, 0) {
			return t, fmt.Errorf("%s is not a number of epoch milliseconds", raw)
		}
		if ms < float64(minTime.UnixMilli()) || ms > float64(maxTime.UnixMilli()) {
			return t, fmt.Errorf("%s epoch milliseconds is outside years 1 to 9999", raw)
		}
		whole := math.Floor(ms)
		t = time.UnixMilli(int64(whole)).Add(time.Duration(math.Round((ms-whole)*1000)) * time.Microsecond)
	default:
		return t, fmt.Errorf("must be an RFC 3339 string or epoch milliseconds, got %s", jsonKind(raw))
	}
	t = t.UTC().Truncate(time.Microsecond)
	if t.Before(minTime) || t.After(maxTime) {
		return t, fmt.Errorf("%s is outside years 1 to 9999", t.Format(time.RFC3339))
	}
	return t, nil
}

// checkPayload requires a JSON object that both engines can store. The
// payload is kept as sent (Meiro keeps raw bodies 1:1); PostgreSQL's jsonb
// normalizes white space and key order when it stores it.
func checkPayload(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("required")
	}
	if raw[0] != '{' {
		return nil, fmt.Errorf("must be a JSON object, got %s", jsonKind(raw))
	}
	if !utf8.Valid(raw) {
		return nil, errors.New("not valid UTF-8")
	}
	if hasNULEscape(raw) {
		// PostgreSQL's jsonb cannot hold U+0000; refuse it on every backend
		// so that what is accepted does not depend on the backend.
		return nil, errors.New(`contains \u0000, which cannot be stored`)
	}
	return raw, nil
}

// hasNULEscape reports whether a JSON text holds the escape \u0000 (a
// backslash that is not itself escaped, followed by u0000).
func hasNULEscape(raw []byte) bool {
	for i := 0; ; {
		j := bytes.Index(raw[i:], []byte(`u0000`))
		if j < 0 {
			return false
		}
		j += i
		n := 0
		for k := j - 1; k >= 0 && raw[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = j + 1
	}
}

func jsonKind(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
