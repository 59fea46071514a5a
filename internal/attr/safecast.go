package attr

import (
	"context"
	"database/sql"
	"strings"

	"github.com/weftdata/weft/internal/sqlrewrite"
	"github.com/weftdata/weft/internal/store"
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

// castFailures are the conditions, each true where a cast failed: of
// the value and weight over the rows of base that pass the filter, of the
// filter over base, of the second level over inner_rows ("" for none).
type castFailures struct{ value, filter, outer string }

// safeCasts is d with the casts of its expressions made safe, and the
// conditions that a cast failed; false when d has no cast to make safe.
func (r *run) safeCasts(d *Definition) (*Definition, castFailures, bool) {
	if d.Type == TypeCustom {
		return nil, castFailures{}, false
	}
	s := *d
	var value, filter, outer []string
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
	rewrite(&s.Weight, &value)
	rewrite(&s.Filter, &filter)
	rewrite(&s.OuterValue, &outer)
	rewrite(&s.OuterWeight, &outer)
	rewrite(&s.OuterFilter, &outer)
	if len(value)+len(filter)+len(outer) == 0 {
		return nil, castFailures{}, false
	}
	return &s, castFailures{strings.Join(value, " OR "), strings.Join(filter, " OR "), strings.Join(outer, " OR ")}, true
}

// retrySafe is d's statement over src with safe casts, when err is a
// conversion error and q is not that statement already.
func (r *run) retrySafe(d *Definition, src source, q string, err error) (string, bool) {
	if !r.e.caps.ConversionError(err) {
		return "", false
	}
	s, _, ok := r.safeCasts(d)
	if !ok {
		return "", false
	}
	safe := s.query(src, r.e.caps)
	return safe, safe != q
}

// countCastFailures adds the events of src whose values did not convert in
// d's casts to res, with the first of them as the example.
func (r *run) countCastFailures(ctx context.Context, d *Definition, res *AttributeResult, src source) {
	s, failed, ok := r.safeCasts(d)
	if !ok {
		return
	}
	// The value stands beside the conditions so that a set-returning one
	// gives the rows of the event that the statement reads, none for an
	// event whose array is empty.
	var parts []string
	if failed.value != "" {
		parts = append(parts, "SELECT id FROM (SELECT id, ("+s.Value+") AS weft_value, ("+failed.value+
			") AS weft_failed FROM base WHERE ("+or(s.Filter, "true")+")) v WHERE weft_failed")
	}
	if failed.filter != "" {
		parts = append(parts, "SELECT id FROM base WHERE "+failed.filter)
	}
	if failed.outer != "" {
		parts = append(parts, "SELECT event_id AS id FROM (SELECT event_id, ("+failed.outer+") AS weft_failed FROM inner_rows) o WHERE weft_failed")
	}
	q := s.rowsQuery(src) + "\nSELECT count(DISTINCT id), min(id) FROM (" + strings.Join(parts, "\nUNION ALL ") + ") f"
	var n int64
	var example sql.NullString
	// A count that fails leaves the attribute calculated, without it.
	err := store.RunConfigSQL(ctx, r.conn, r.e.caps, true, func(x store.Executor) error {
		return x.QueryRowContext(ctx, q).Scan(&n, &example)
	})
	if err != nil || n == 0 {
		return
	}
	res.CastFailures += n
	if res.CastFailureEventID == "" || example.String < res.CastFailureEventID {
		res.CastFailureEventID = example.String
	}
}
