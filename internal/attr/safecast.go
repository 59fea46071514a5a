package attr

import (
	"context"
	"database/sql"
	"strings"

	"github.com/weftdata/weft/internal/sqlrewrite"
)

// Values that do not convert: a cast the user wrote in an attribute's
// expressions, such as (payload->>'total')::numeric, fails the attribute's
// statement on one event whose value does not convert ("12,50"). The
// statement runs as written first (the fast path stays as it is); when it
// fails on a conversion (store.Capabilities.ConversionError), the attribute
// runs again alone with its casts made safe (sqlrewrite.SafeCasts): the
// value that does not convert is NULL for that event, as data_type
// conversions already are, and the events where a cast gave NULL are
// counted and one of them recorded on the attribute's state. Custom
// queries are not rewritten: one that fails on a value fails as before.

// safeCasts is d with the casts of its expressions made safe, and the
// conditions, over base and over inner_rows, that a cast failed there;
// false when d has no cast to make safe.
func (r *run) safeCasts(d *Definition) (safe *Definition, first, outer string, ok bool) {
	if d.Type == TypeCustom {
		return nil, "", "", false
	}
	s := *d
	var inner, firstLevel, value, weight, filter []string
	rewrite := func(expr *string, failed *[]string) {
		var f []string
		*expr, f = sqlrewrite.SafeCasts(*expr, r.e.caps.SafeCast)
		*failed = append(*failed, f...)
	}
	// The engine casts a weight to DOUBLE PRECISION: that cast is made
	// safe too.
	for _, w := range []*string{&s.Weight, &s.OuterWeight} {
		if strings.TrimSpace(*w) != "" {
			*w = "CAST((" + *w + ") AS DOUBLE PRECISION)"
		}
	}
	rewrite(&s.Value, &value)
	rewrite(&s.Weight, &weight)
	rewrite(&s.Filter, &filter)
	rewrite(&s.OuterValue, &inner)
	rewrite(&s.OuterWeight, &inner)
	rewrite(&s.OuterFilter, &inner)
	if len(value)+len(weight)+len(filter)+len(inner) == 0 {
		return nil, "", "", false
	}
	// A value or weight counts when the event passes the filter.
	if v := append(value, weight...); len(v) > 0 {
		firstLevel = append(firstLevel, "(coalesce(("+or(s.Filter, "true")+"), false) AND ("+strings.Join(v, " OR ")+"))")
	}
	firstLevel = append(firstLevel, filter...)
	return &s, strings.Join(firstLevel, " OR "), strings.Join(inner, " OR "), true
}

// retrySafe is d's statement over src with safe casts, when err is a
// conversion error and q is not that statement already.
func (r *run) retrySafe(d *Definition, src source, q string, err error) (string, bool) {
	if !r.e.caps.ConversionError(err) {
		return "", false
	}
	s, _, _, ok := r.safeCasts(d)
	if !ok {
		return "", false
	}
	safe := s.query(src, r.e.caps.ArgMinMax())
	return safe, safe != q
}

// countCastFailures adds the events of src whose values did not convert in
// d's casts to res, with the first of them as the example.
func (r *run) countCastFailures(ctx context.Context, d *Definition, res *AttributeResult, src source) {
	s, first, outer, ok := r.safeCasts(d)
	if !ok {
		return
	}
	var parts []string
	if first != "" {
		parts = append(parts, "SELECT id FROM base WHERE "+first)
	}
	if outer != "" {
		parts = append(parts, "SELECT event_id AS id FROM inner_rows WHERE "+outer)
	}
	q := s.rowsQuery(src) + "\nSELECT count(DISTINCT id), min(id) FROM (" + strings.Join(parts, "\nUNION ALL ") + ") f"
	var n int64
	var example sql.NullString
	// A count that fails leaves the attribute calculated, without it.
	if err := r.conn.QueryRowContext(ctx, q).Scan(&n, &example); err != nil || n == 0 {
		return
	}
	res.CastFailures += n
	if res.CastFailureEventID == "" || example.String < res.CastFailureEventID {
		res.CastFailureEventID = example.String
	}
}
