package segment

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/attr"
)

// moment is a point in time of a condition: relative to the run's time
// (-30d) or absolute. dateOnly marks an absolute date without a time.
type moment struct {
	relative bool
	offset   time.Duration
	abs      time.Time
	dateOnly bool
}

// at is the moment as a time, for a run at now.
func (m moment) at(now time.Time) time.Time {
	if m.relative {
		return now.Add(m.offset).UTC()
	}
	return m.abs
}

var durationPattern = regexp.MustCompile(`^([0-9]{1,6})([hdw])$`)

// parseDuration reads a window length: 12h, 30d, 8w.
func parseDuration(s string) (time.Duration, error) {
	m := durationPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a duration: a number and h, d or w (12h, 30d, 8w)", s)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

var datetimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02T15:04"}

// parseMoment reads a relative date (-30d, +12h, -2w) or an absolute date
// (2026-01-31) or date and time (RFC 3339, UTC when no zone is given).
func parseMoment(s string) (moment, error) {
	s = strings.TrimSpace(s)
	if s != "" && (s[0] == '-' || s[0] == '+') {
		d, err := parseDuration(s[1:])
		if err != nil {
			return moment{}, fmt.Errorf("%q is not a relative date: a sign, a number and h, d or w (-30d, +12h, -2w)", s)
		}
		if s[0] == '-' {
			d = -d
		}
		return moment{relative: true, offset: d}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return moment{abs: t, dateOnly: true}, nil
	}
	for _, layout := range datetimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return moment{abs: t.UTC()}, nil
		}
	}
	return moment{}, fmt.Errorf("%q is not a date: a relative one (-30d, -12h, -2w) or an absolute one (2026-01-31, 2026-01-31T08:00:00Z)", s)
}

// value is a typed value of a condition.
type value struct {
	dataType string
	i        int64
	f        float64
	b        bool
	s        string
	m        moment
}

// literal checks a value from the config against a data type (of package
// attr) and returns it typed. YAML gives int, float64, bool and string;
// JSON gives float64 for every number.
func literal(x any, dataType string) (value, error) {
	v := value{dataType: dataType}
	switch dataType {
	case attr.DataInt:
		switch n := x.(type) {
		case int:
			v.i = int64(n)
		case int64:
			v.i = n
		case uint64:
			if n > math.MaxInt64 {
				return v, fmt.Errorf("%d is too large for an int", n)
			}
			v.i = int64(n)
		case float64:
			if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
				return v, fmt.Errorf("%v is not an integer (the data type is int)", n)
			}
			v.i = int64(n)
		default:
			return v, typeError(x, "an integer")
		}
	case attr.DataFloat:
		switch n := x.(type) {
		case int:
			v.f = float64(n)
		case int64:
			v.f = float64(n)
		case uint64:
			v.f = float64(n)
		case float64:
			if math.IsNaN(n) || math.IsInf(n, 0) {
				return v, errors.New("must be a finite number")
			}
			v.f = n
		default:
			return v, typeError(x, "a number")
		}
	case attr.DataBool:
		b, ok := x.(bool)
		if !ok {
			return v, typeError(x, "true or false")
		}
		v.b = b
	case attr.DataDate, attr.DataDatetime:
		s, ok := x.(string)
		if !ok {
			return v, typeError(x, "a date, relative (-30d) or absolute (2026-01-31)")
		}
		m, err := parseMoment(s)
		if err != nil {
			return v, err
		}
		v.m = m
	default:
		s, ok := x.(string)
		if !ok {
			return v, typeError(x, "a string")
		}
		v.s = s
	}
	return v, nil
}

func typeError(x any, want string) error {
	b, _ := json.Marshal(x)
	what := "a string"
	switch x.(type) {
	case bool:
		what = "a boolean"
	case int, int64, uint64, float64:
		what = "a number"
	case []any:
		what = "a list"
	case map[string]any:
		what = "an object"
	case nil:
		what = "null"
	}
	return fmt.Errorf("%s is %s; want %s", b, what, want)
}

// sql renders the value as a SQL literal of its type, for a run at now.
func (v value) sql(now time.Time) string {
	switch v.dataType {
	case attr.DataInt:
		return "CAST(" + strconv.FormatInt(v.i, 10) + " AS BIGINT)"
	case attr.DataFloat:
		return "CAST(" + quote(strconv.FormatFloat(v.f, 'g', -1, 64)) + " AS DOUBLE PRECISION)"
	case attr.DataBool:
		if v.b {
			return "TRUE"
		}
		return "FALSE"
	case attr.DataDate:
		return "CAST(" + quote(v.m.at(now).Format("2006-01-02")) + " AS DATE)"
	case attr.DataDatetime:
		return timestampSQL(v.m.at(now))
	}
	return quote(v.s)
}

// timestampSQL is a TIMESTAMPTZ literal.
func timestampSQL(t time.Time) string {
	return "CAST(" + quote(t.UTC().Format("2006-01-02 15:04:05.999999")+"+00") + " AS TIMESTAMPTZ)"
}

// quote is a SQL string literal (standard strings: a quote is doubled).
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// jsonText is the JSON text of a string, as plugin properties store text
// values.
func jsonText(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
