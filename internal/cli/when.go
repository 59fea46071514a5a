package cli

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// relative is a duration back from now with days and weeks, which
// time.ParseDuration lacks: 7d, 2w, 1d12h, 90m.
var relative = regexp.MustCompile(`^(?:([0-9]+)w)?(?:([0-9]+)d)?(.*)$`)

// whenMax bounds a relative time: a longer one is a typo.
const whenMax = 100 * 365 * 24 * time.Hour

// parseWhen reads a time flag (--since, --until): empty for none, a
// duration back from now (90m, 24h, 7d, 2w, 1d12h), or an RFC 3339 time
// (2026-01-02T15:04:05Z), as `ocp app logs --from` takes them.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok, err := parseRelative(s); ok {
		if err != nil {
			return time.Time{}, fmt.Errorf("%s %q: %w", flag, s, err)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want a duration back from now (90m, 24h, 7d, 2w) or an RFC 3339 time (2026-01-02T15:04:05Z)", flag, s)
	}
	return t, nil
}

// parseRelative reads a duration with weeks and days; ok is false when s
// is no duration at all (it may be a time).
func parseRelative(s string) (d time.Duration, ok bool, err error) {
	if strings.HasPrefix(s, "-") {
		if _, err := time.ParseDuration(s); err == nil {
			return 0, true, fmt.Errorf("give a positive duration back from now")
		}
	}
	m := relative.FindStringSubmatch(s)
	if m == nil || (m[1] == "" && m[2] == "" && m[3] == "") {
		return 0, false, nil
	}
	if m[3] != "" {
		if d, err = time.ParseDuration(m[3]); err != nil {
			return 0, false, nil
		}
		if d < 0 {
			return 0, true, fmt.Errorf("give a positive duration back from now")
		}
	}
	for i, unit := range []time.Duration{7 * 24 * time.Hour, 24 * time.Hour} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n > int64(whenMax/unit) {
			return 0, true, fmt.Errorf("more than 100 years back")
		}
		d += time.Duration(n) * unit
	}
	if d > whenMax {
		return 0, true, fmt.Errorf("more than 100 years back")
	}
	return d, true, nil
}
