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
	"unicode"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/jsonsyntax"
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
	}{e.Index, clip.String(e.Field), clip.Max(e.Error(), clip.MessageMax)})
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
	// typePart is relaxed for the event names of tracking SDKs, which
	// have spaces ("Order Completed"): printable text without the
	// characters that references to types (source/type in stitching
	// rules, segments, attributes) or SQL quoting would trip on.
	typePart = part{max: 128, printable: `/'"\`, desc: "1 to 128 bytes of printable UTF-8 without / ' \" or \\, neither * alone nor starting or ending with a space"}
)

type part struct {
	max   int
	extra string
	desc  string
	// printable, when set, takes any printable text but these characters
	// instead of letters, digits and extra.
	printable string
}

// valid is a hand-written check, several times faster than a regexp on the
// ingest hot path.
func (p part) valid(s string) bool {
	if len(s) == 0 || len(s) > p.max {
		return false
	}
	if p.printable != "" {
		return p.validPrintable(s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && strings.IndexByte(p.extra, c) < 0 {
			return false
		}
	}
	return true
}

// validPrintable: printable runes (unicode.IsPrint: the space is the
// only blank) but p.printable, no space at either end, not "*" (every
// type, in a stitching rule's reference).
func (p part) validPrintable(s string) bool {
	if s == "*" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f || strings.IndexByte(p.printable, c) >= 0 {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
		i += size
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
		// The record was checked whole as JSON before it was parsed
		// (Batch.addRaw's callers), its payload with it.
		e.ID = deriveID(e, true)
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
	return fmt.Sprintf("%s looks like epoch seconds (%s); event_time takes epoch milliseconds (%.0f) or an RFC 3339 string", clip.String(string(raw)), asSeconds, v*1000)
}

// ValidateEventType checks the parts of an event type key: each required,
// none with a slash (the id joins them with slashes).
func ValidateEventType(k store.EventTypeKey) *RecordError {
	for _, f := range []struct {
		name, value string
		part        part
	}{
		{"source_id", k.SourceID, namePart},
		{"type", k.Type, typePart},
		{"version", k.Version, versionPart},
	} {
		if f.value == "" {
			return &RecordError{Field: f.name, Reason: "required"}
		}
		if !f.part.valid(f.value) {
			return &RecordError{Field: f.name, Reason: fmt.Sprintf("%s must be %s", clip.Quote(f.value), f.part.desc)}
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
		s, err := unquote(raw) // no reflection for the usual string without escapes
		if err != nil {
			return t, err
		}
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			if t, err = time.Parse("2006-01-02 15:04:05.999999999", s); err != nil {
				return t, fmt.Errorf("%s is neither RFC 3339 (2006-01-02T15:04:05Z) nor epoch milliseconds", clip.Quote(s))
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		ms, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(ms, 0) {
			return t, fmt.Errorf("%s is not a number of epoch milliseconds", clip.String(string(raw)))
		}
		if ms < float64(minTime.UnixMilli()) || ms > float64(maxTime.UnixMilli()) {
			return t, fmt.Errorf("%s epoch milliseconds is outside years 1 to 9999", clip.String(string(raw)))
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
	if err := storableJSON(raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// storableJSON refuses JSON text that one backend or the other cannot
// store, so that what is accepted does not depend on the backend: text
// that is not UTF-8, the escape \u0000 (PostgreSQL's jsonb cannot hold
// U+0000) and UTF-16 surrogates escaped alone (neither engine's JSON
// takes them; one such string used to fail the whole request).
func storableJSON(raw []byte) error {
	if !utf8.Valid(raw) {
		return errors.New("not valid UTF-8")
	}
	if err := checkEscapes(raw); err != nil {
		return err
	}
	return checkNumbers(raw)
}

// PostgreSQL's jsonb holds numbers as numeric, which refuses exponents
// beyond some 131,000 and literals of 131,000 digits or more (1e1000000
// failed a whole batch); DuckDB keeps them as text. Bounds far below
// those, and above any real measure, keep both alike.
const (
	numberMax   = 1000 // bytes of a number literal
	exponentMax = 1000 // magnitude of its exponent
)

// checkNumbers refuses number literals beyond numberMax or exponentMax.
// Most payloads are shorter than numberMax and have no exponent of four
// digits, which a quick look tells; the others are read token by token.
func checkNumbers(raw []byte) error {
	if len(raw) <= numberMax && !mayHaveBigExponent(raw) {
		return nil
	}
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '"':
			i = skipString(raw, i)
		case c == '-' || c >= '0' && c <= '9':
			j := skipValue(raw, i)
			if err := checkNumber(raw[i:j]); err != nil {
				return err
			}
			i = j
		default:
			i++
		}
	}
	return nil
}

// mayHaveBigExponent: an e or E followed by a sign or not and four digits
// or more, in a string or not.
func mayHaveBigExponent(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c != 'e' && c != 'E' {
			continue
		}
		j := i + 1
		if j < len(raw) && (raw[j] == '+' || raw[j] == '-') {
			j++
		}
		k := j
		for k < len(raw) && raw[k] >= '0' && raw[k] <= '9' {
			k++
		}
		if k-j >= 4 {
			return true
		}
	}
	return false
}

func checkNumber(lit []byte) error {
	if len(lit) > numberMax {
		return fmt.Errorf("has a number of %d characters, more than the %d that can be stored", len(lit), numberMax)
	}
	e := bytes.IndexAny(lit, "eE")
	if e < 0 {
		return nil
	}
	exp, err := strconv.Atoi(strings.TrimPrefix(string(lit[e+1:]), "+"))
	if err != nil || exp > exponentMax || exp < -exponentMax {
		return fmt.Errorf("has the number %s, whose exponent is beyond ±%d, which cannot be stored", clip.String(string(lit)), exponentMax)
	}
	return nil
}

// checkEscapes reads the \u escapes of a JSON text. Backslashes occur
// only in strings, and each one starts an escape, so reading from one
// backslash to the next skips escaped backslashes as it should.
func checkEscapes(raw []byte) error {
	i := bytes.IndexByte(raw, '\\')
	for i >= 0 && i+1 < len(raw) {
		step := 2
		if raw[i+1] == 'u' {
			step = 6
			r, _ := jsonsyntax.Hex4(raw, i+2)
			switch {
			case r == 0:
				return errors.New(`contains \u0000, which cannot be stored`)
			case r >= 0xDC00 && r <= 0xDFFF:
				return loneSurrogate(raw[i : i+6])
			case r >= 0xD800 && r <= 0xDBFF:
				if lo, ok := jsonsyntax.Hex4(raw, i+8); !ok || raw[i+6] != '\\' || raw[i+7] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
					return loneSurrogate(raw[i : i+6])
				}
				step = 12
			}
		}
		if i+step >= len(raw) {
			return nil
		}
		next := bytes.IndexByte(raw[i+step:], '\\')
		if next < 0 {
			return nil
		}
		i += step + next
	}
	return nil
}

func loneSurrogate(esc []byte) error {
	return fmt.Errorf(`contains %s, half of a UTF-16 surrogate pair without the other half, which cannot be stored`, esc)
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
