package event

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/weftdata/weft/internal/clip"
)

// parseRecord reads one record from data, which must already be known to
// be valid JSON. It does by hand what json.Unmarshal into wireRecord with
// DisallowUnknownFields would do, several times faster, which matters at
// 100,000 records a second; keys match exactly (encoding/json would also
// accept "Source_ID"). Retained bytes are copied, so data may be reused.
func parseRecord(index int, data []byte) (*wireRecord, *RecordError) {
	i := skipSpace(data, 0)
	if data[i] != '{' {
		return nil, &RecordError{Index: index, Reason: "record must be a JSON object, got " + jsonKind(data[i:])}
	}
	w := &wireRecord{}
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return w, nil
	}
	for {
		end := skipValue(data, i)
		key, err := unquote(data[i:end])
		if err != nil {
			return nil, &RecordError{Index: index, Reason: "invalid JSON: " + err.Error()}
		}
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // the colon
		end = skipValue(data, i)
		if rerr := w.set(index, key, data[i:end]); rerr != nil {
			return nil, rerr
		}
		i = skipSpace(data, end)
		if data[i] == '}' {
			return w, nil
		}
		i = skipSpace(data, i+1) // the comma
	}
}

// set assigns one field of the record.
func (w *wireRecord) set(index int, key string, val []byte) *RecordError {
	str := func(dst *string) *RecordError {
		switch val[0] {
		case '"':
			s, err := unquote(val)
			if err != nil {
				return &RecordError{Index: index, Field: key, Reason: err.Error()}
			}
			*dst = s
		case 'n': // null leaves the field unset, as encoding/json does
		default:
			return &RecordError{Index: index, Field: key, Reason: "must be a string, got " + jsonKind(val)}
		}
		return nil
	}
	switch key {
	case "id":
		if val[0] == 'n' {
			w.ID = nil
			return nil
		}
		var s string
		if err := str(&s); err != nil {
			return err
		}
		w.ID = &s
	case "source_id":
		return str(&w.SourceID)
	case "type":
		return str(&w.Type)
	case "version":
		return str(&w.Version)
	case "event_time":
		w.EventTime = bytes.Clone(val)
	case "payload":
		w.Payload = bytes.Clone(val)
	default:
		return &RecordError{Index: index, Field: clip.String(key), Reason: "unknown field (a record has id, source_id, type, version, event_time and payload)"}
	}
	return nil
}

// unquote decodes a JSON string literal.
func unquote(lit []byte) (string, error) {
	if len(lit) < 2 || lit[0] != '"' {
		return "", fmt.Errorf("expected a string, got %s", jsonKind(lit))
	}
	if bytes.IndexByte(lit, '\\') < 0 {
		return string(lit[1 : len(lit)-1]), nil
	}
	var s string
	err := json.Unmarshal(lit, &s)
	return s, err
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at i. The input is
// valid JSON, so counting brackets outside strings is enough.
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = skipString(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default:
		for i < len(data) {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// skipString returns the index just past the string literal starting at i.
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// Members calls f with each member of the JSON object data, in order: the
// key, unescaped, and the value's bytes. data must be valid JSON (checked
// with json.Valid or ValidJSON) holding an object; f's error stops the walk. The key
// is only valid during the call. Tracking calls (package tracking) read
// their messages with it, without building maps.
func Members(data []byte, f func(key []byte, value []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return fmt.Errorf("must be a JSON object, got %s", JSONKind(data[i:]))
	}
	for i = skipSpace(data, i+1); i < len(data) && data[i] != '}'; {
		end := skipValue(data, i)
		key := data[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			s, err := unquote(data[i:end])
			if err != nil {
				return err
			}
			key = []byte(s)
		}
		i = skipSpace(data, skipSpace(data, end)+1) // past the colon
		end = skipValue(data, i)
		if err := f(key, data[i:end]); err != nil {
			return err
		}
		if i = skipSpace(data, end); i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return nil
}

// Elements calls f with each element of the JSON array data, in order;
// data must be valid JSON holding an array.
func Elements(data []byte, f func(index int, value []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return fmt.Errorf("must be a JSON array, got %s", JSONKind(data[i:]))
	}
	for n, i := 0, skipSpace(data, i+1); i < len(data) && data[i] != ']'; n++ {
		end := skipValue(data, i)
		if err := f(n, data[i:end]); err != nil {
			return err
		}
		if i = skipSpace(data, end); i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return nil
}

// JSONKind names the kind of the JSON value that starts raw ("an object",
// "a string", ...), for messages.
func JSONKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	return jsonKind(raw)
}

// StorableJSON refuses JSON text one backend or the other cannot store
// (see storableJSON), so that other ingest paths refuse it field by field
// with the same reasons.
func StorableJSON(raw []byte) error { return storableJSON(raw) }
