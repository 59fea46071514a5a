package plugin

import (
	"fmt"
	"math"
	"strconv"
)

// Range selects users by their random value: start <= random < end.
type Range struct{ Start, End float64 }

// FullRange selects every user.
var FullRange = Range{0, 1}

// ParseRange reads range_start_gt_or_eq and range_end_lt: numbers in
// [0, 1], start not above end, both optional.
func ParseRange(start, end string) (Range, error) {
	r := FullRange
	for _, p := range []struct {
		name, val string
		into      *float64
	}{{"range_start_gt_or_eq", start, &r.Start}, {"range_end_lt", end, &r.End}} {
		if p.val == "" {
			continue
		}
		f, err := strconv.ParseFloat(p.val, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
			return r, &InputError{"invalid_range", fmt.Sprintf("%s=%q must be a number from 0 to 1", p.name, p.val)}
		}
		*p.into = f
	}
	if r.Start > r.End {
		return r, &InputError{"invalid_range", fmt.Sprintf("range_start_gt_or_eq (%v) is above range_end_lt (%v)", r.Start, r.End)}
	}
	return r, nil
}

// BatchRanges splits users into ceil(users/maxBatchSize) equal ranges of
// the random column, [k/n, (k+1)/n), so each batch holds about
// maxBatchSize users; the last ends at 1.
func BatchRanges(users int64, maxBatchSize int) []Range {
	n := int((users + int64(maxBatchSize) - 1) / int64(maxBatchSize))
	if n < 1 {
		n = 1
	}
	out := make([]Range, n)
	for k := range out {
		out[k] = Range{Start: float64(k) / float64(n), End: float64(k+1) / float64(n)}
	}
	out[n-1].End = 1
	return out
}
