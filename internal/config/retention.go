package config

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Retention deletes the events of a source older than a period (package
// erasure, the built-in job retention), with what Weft derived from them.
type Retention struct {
	// Source is the source whose events are deleted, or "*" for every
	// source that no other entry names.
	Source string `json:"source" yaml:"source"`
	// Keep is how long events are kept, counted from their event_time: a
	// whole number of hours, days or weeks ("36h", "90d", "52w").
	Keep string `json:"keep" yaml:"keep"`
}

// RetentionAll as a Retention's source stands for every source that no
// other entry names.
const RetentionAll = "*"

// retentionKeepMax bounds Keep: a longer period is a typo.
const retentionKeepMax = 100 * 365 * 24 * time.Hour

var (
	keepPattern     = regexp.MustCompile(`^([1-9][0-9]{0,5})([hdw])$`)
	retentionSource = regexp.MustCompile(`^[^\s'"\\/]+$`)
)

// KeepDuration is Keep as a duration.
func (r Retention) KeepDuration() (time.Duration, error) {
	m := keepPattern.FindStringSubmatch(r.Keep)
	if m == nil {
		return 0, fmt.Errorf("keep %q must be a whole number of hours, days or weeks, such as 36h, 90d or 52w", r.Keep)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	d := time.Duration(n) * unit
	if d > retentionKeepMax {
		return 0, fmt.Errorf("keep %q is longer than 100 years", r.Keep)
	}
	return d, nil
}

func validateRetention(rs []Retention) error {
	seen := map[string]bool{}
	for i, r := range rs {
		field := fmt.Sprintf("retention[%d]", i)
		switch {
		case r.Source == "":
			return &Error{Field: field + ".source", Err: fmt.Errorf("a source (or %q for every other source) is required", RetentionAll)}
		case r.Source != RetentionAll && !retentionSource.MatchString(r.Source):
			return &Error{Field: field + ".source", Err: fmt.Errorf("source %q is not a source id", r.Source)}
		case seen[r.Source]:
			return &Error{Field: field + ".source", Err: fmt.Errorf("source %q has an entry already", r.Source)}
		}
		seen[r.Source] = true
		if _, err := r.KeepDuration(); err != nil {
			return &Error{Field: field + ".keep", Err: err}
		}
	}
	return nil
}
