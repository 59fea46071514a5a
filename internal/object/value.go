package object

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// StringMaxChars bounds a string value, as ODP bounds text fields.
const StringMaxChars = 1024

// Timestamps are kept within years 1 to 9999, which both engines and
// RFC 3339 can hold.
var (
	timeMin = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	timeMax = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// coerce turns a record value into what the column of type typ stores:
// a string, float64, time.Time or bool, or nil for null (not sent, null,
// or a string that is empty once trimmed).
func coerce(typ string, v any) (any, error) {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		v = s
	}
	switch v.(type) {
	case nil:
		return nil, nil
	case map[string]any, []any:
		return nil, errors.New("nested objects and arrays are not allowed: send a " + typ)
	}
	switch typ {
	case FieldString:
		return coerceString(v)
	case FieldNumber:
		return coerceNumber(v)
	case FieldTimestamp:
		return coerceTimestamp(v)
	case FieldBoolean:
		return coerceBoolean(v)
	}
	panic("object: unknown field type " + typ)
}

func coerceString(v any) (any, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s = v.String()
	case bool:
		s = strconv.FormatBool(v)
	default:
		f, ok := number(v)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T", v)
		}
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	switch {
	case !utf8.ValidString(s):
		return nil, errors.New("is not valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return nil, errors.New("contains a NUL character")
	case utf8.RuneCountInString(s) > StringMaxChars:
		return nil, fmt.Errorf("is %d characters long, more than the %d allowed", utf8.RuneCountInString(s), StringMaxChars)
	}
	return s, nil
}

// number reads Go numbers (of any int, uint or float kind) and JSON
// numbers.
func number(v any) (float64, bool) {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		return f, err == nil
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanInt():
		return float64(rv.Int()), true
	case rv.CanUint():
		return float64(rv.Uint()), true
	case rv.CanFloat():
		return rv.Float(), true
	}
	return 0, false
}

func coerceNumber(v any) (any, error) {
	if s, ok := v.(string); ok {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("want a number, got %q", s)
		}
		return f, nil
	}
	f, ok := number(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("want a number, got %s", describe(v))
	}
	return f, nil
}

func coerceBoolean(v any) (any, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(v) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return nil, fmt.Errorf("want true, false, 1 or 0, got %q", v)
	}
	if f, ok := number(v); ok && (f == 0 || f == 1) {
		return f == 1, nil
	}
	return nil, fmt.Errorf("want true, false, 1 or 0, got %s", describe(v))
}

// timeLayouts are the ISO-8601 forms accepted besides epoch seconds; those
// without a zone are UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func coerceTimestamp(v any) (any, error) {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return epochSeconds(f)
		}
		var err error
		for _, layout := range timeLayouts {
			if t, err = time.Parse(layout, v); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("want an ISO-8601 timestamp (2006-01-02T15:04:05Z) or epoch seconds, got %q", v)
		}
	default:
		f, ok := number(v)
		if !ok {
			return nil, fmt.Errorf("want an ISO-8601 timestamp or epoch seconds, got %s", describe(v))
		}
		return epochSeconds(f)
	}
	t = t.UTC().Truncate(time.Microsecond)
	if t.Before(timeMin) || t.After(timeMax) {
		return nil, fmt.Errorf("%s is outside years 1 to 9999", t.Format(time.RFC3339))
	}
	return t, nil
}

// epochSecondsMax is the end of year 9999.
const epochSecondsMax = 253402300799

func epochSeconds(f float64) (any, error) {
	if math.IsNaN(f) || f < -62135596800 || f > epochSecondsMax {
		return nil, fmt.Errorf("epoch seconds %g are outside years 1 to 9999 (milliseconds? divide by 1000)", f)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC(), nil
}

func describe(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	}
	if f, ok := number(v); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprintf("a %T", v)
}
