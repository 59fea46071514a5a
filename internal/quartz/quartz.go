package quartz

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a parsed expression.
type Schedule struct {
	expr  string
	sched cron.Schedule
}

var parser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Parse reads a Quartz cron expression: seconds minutes hours
// day-of-month month day-of-week [year].
func Parse(expr string) (*Schedule, error) {
	fields := strings.Fields(expr)
	if len(fields) == 5 {
		msg := fmt.Sprintf("cron %q has 5 fields: Quartz expressions start with seconds and use ? in day-of-month or day-of-week", expr)
		if q := fromUnix(fields); q != "" {
			msg += fmt.Sprintf(", e.g. %q", q)
		}
		return nil, errors.New(msg)
	}
	if len(fields) != 6 && len(fields) != 7 {
		return nil, fmt.Errorf("cron %q has %d fields, want 6 or 7: seconds minutes hours day-of-month month day-of-week [year]", expr, len(fields))
	}
	if len(fields) == 7 {
		if fields[6] != "*" {
			return nil, fmt.Errorf("cron %q: the year field must be * (schedules that end are not supported)", expr)
		}
		fields = fields[:6]
	}
	for i, f := range fields {
		if strings.ContainsAny(strings.ToUpper(f), "LW#") && !isNames(f) {
			return nil, fmt.Errorf("cron %q: %s field %q uses L, W or #, which are not supported", expr, fieldNames[i], f)
		}
	}
	dom, dow := fields[3], fields[5]
	if (dom == "?") == (dow == "?") {
		return nil, fmt.Errorf("cron %q: put ? in exactly one of day-of-month (%q) and day-of-week (%q), as Quartz requires, e.g. \"0 0 6 * * ?\"", expr, dom, dow)
	}
	dow, err := shiftWeekdays(dow)
	if err != nil {
		return nil, fmt.Errorf("cron %q: day-of-week: %w", expr, err)
	}
	fields[5] = dow
	sched, err := parser.Parse("CRON_TZ=UTC " + strings.Join(fields, " "))
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", expr, err)
	}
	return &Schedule{expr: expr, sched: sched}, nil
}

var fieldNames = []string{"seconds", "minutes", "hours", "day-of-month", "month", "day-of-week"}

// isNames says whether a field is made of month or weekday names (which
// contain L or W, like JUL or WED) rather than the specials.
func isNames(f string) bool {
	for _, part := range strings.FieldsFunc(strings.ToUpper(f), func(r rune) bool { return r == ',' || r == '-' || r == '/' }) {
		if len(part) != 3 || !strings.Contains("JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDECSUNMONTUEWEDTHUFRISAT", part) {
			if strings.ContainsAny(part, "LW#") {
				return false
			}
		}
	}
	return true
}

// shiftWeekdays turns Quartz's 1-7 (Sunday first) into cron's 0-6.
func shiftWeekdays(f string) (string, error) {
	var out strings.Builder
	num := ""
	flush := func(afterSlash bool) error {
		if num == "" {
			return nil
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			return err
		}
		if !afterSlash {
			if n < 1 || n > 7 {
				return fmt.Errorf("%d is not a day of the week (1 is Sunday, 7 Saturday)", n)
			}
			n--
		}
		out.WriteString(strconv.Itoa(n))
		num = ""
		return nil
	}
	afterSlash := false
	for _, r := range f {
		if r >= '0' && r <= '9' {
			num += string(r)
			continue
		}
		if err := flush(afterSlash); err != nil {
			return "", err
		}
		switch r {
		case '/':
			afterSlash = true
		case ',':
			afterSlash = false
		}
		out.WriteRune(r)
	}
	if err := flush(afterSlash); err != nil {
		return "", err
	}
	return out.String(), nil
}

// Next is the first time after t the schedule fires, in UTC.
func (s *Schedule) Next(t time.Time) time.Time { return s.sched.Next(t.UTC()).UTC() }

// String is the expression as written.
func (s *Schedule) String() string { return s.expr }

// fromUnix is the Quartz expression of a five-field Unix cron, to suggest
// in the error: seconds 0, ? in the day field the Unix one leaves *, and
// days of the week numbered from 1 (Sunday) instead of 0. Empty when the
// result would not parse (the suggestion must itself be valid).
func fromUnix(f []string) string {
	dom, dow := f[2], f[4]
	switch {
	case dow == "*":
		dow = "?"
	default:
		dom = "?"
		dow = quartzWeekdays(dow)
	}
	q := strings.Join([]string{"0", f[0], f[1], dom, f[3], dow}, " ")
	if _, err := Parse(q); err != nil {
		return ""
	}
	return q
}

// quartzWeekdays renumbers the days of a Unix day-of-week field (0 or 7
// Sunday) as Quartz numbers them (1 Sunday); names and steps stay.
func quartzWeekdays(field string) string {
	parts := strings.Split(field, ",")
	for i, p := range parts {
		days, step, hasStep := strings.Cut(p, "/")
		bounds := strings.Split(days, "-")
		for j, b := range bounds {
			if d, err := strconv.Atoi(b); err == nil && d >= 0 && d <= 7 {
				bounds[j] = strconv.Itoa(d%7 + 1)
			}
		}
		parts[i] = strings.Join(bounds, "-")
		if hasStep {
			parts[i] += "/" + step
		}
	}
	return strings.Join(parts, ",")
}
