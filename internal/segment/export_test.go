package segment

import (
	"context"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/store"
)

// What the external tests (package segment_test, which imports config)
// use of the package's insides.
var (
	PropertiesOf   = properties
	PropertyTypeOf = propertyTypeOf
	ParseDuration  = parseDuration
	Holds          = holds
)

// MomentAt is a date of a condition at now, and whether it is a date
// without a time.
func MomentAt(s string, now time.Time) (time.Time, bool, error) {
	m, err := parseMoment(s)
	return m.at(now), m.dateOnly, err
}

// EventRef splits source/type[/version].
func EventRef(s string) (source, typ, version string, err error) {
	r, err := parseEventRef(s)
	return r.source, r.typ, r.version, err
}

// Attribute is the definition of an attribute conditions may name.
func (e *Env) Attribute(id string) *attr.Definition { return e.attrs[id] }

// Defs are the engine's segments; Env what they may name.
func (e *Engine) Defs() []Definition { return e.defs }
func (e *Engine) Env() *Env          { return e.env }

// SetIdentAllFrom sets from how many changes a run looks up the
// identifiers of every entity, until the test ends.
func SetIdentAllFrom(t interface{ Cleanup(func()) }, n int64) {
	old := identAllFrom
	identAllFrom = n
	t.Cleanup(func() { identAllFrom = old })
}

// ValueKey is the key of a condition's per-event values (0 for none).
func ValueKey(n *Condition) int64 {
	k, _, _ := valueKey(n)
	return k
}

// ConfigKeys are the keys of the per-event values of e's segments.
func (e *Engine) ConfigKeys() []int64 { return e.configKeys() }

// ErrRaced is the error of a fill that another fill went ahead of.
var ErrRaced = errRaced

// FillKey keeps the per-event values of the events in (from, to] of a
// condition, as a run at now does.
func (e *Engine) FillKey(ctx context.Context, cond *Condition, from, to int64, now time.Time) error {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := &run{e: e, conn: conn, now: now}
	// A run makes seg_fill before its fills, and drops it at its end.
	err = store.RunConfigSQL(ctx, conn, e.caps, false, func(x store.Executor) error {
		_, err := x.ExecContext(ctx, x.Query("SegmentFillCreate"))
		return err
	})
	if err != nil {
		return err
	}
	k, _, _ := valueKey(cond)
	return r.fillKey(ctx, k, cond, from, to, nil)
}

// IdentFilter is where the lookup of identifiers adds the entity keys.
const IdentFilter = identFilter

// SetJoinParts sets how many seqs a part of a join of kept or copied
// values covers, and the most parts, until the test ends.
func SetJoinParts(t interface{ Cleanup(func()) }, part, parts int64) {
	oldPart, oldParts := joinPart, joinParts
	joinPart, joinParts = part, parts
	t.Cleanup(func() { joinPart, joinParts = oldPart, oldParts })
}
