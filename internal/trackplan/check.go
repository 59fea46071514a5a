package trackplan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// Checker applies the plan in force to batches of events and records what
// fails: it is the event.Ingester's Check.
type Checker struct {
	db      *store.DB
	log     *slog.Logger
	plan    atomic.Pointer[Plan]
	counter *prometheus.CounterVec
	// mu serializes the recording of one process: DuckDB refuses
	// concurrent updates of one row, and PostgreSQL would queue them.
	mu         sync.Mutex
	prunedHour time.Time
}

// NewChecker returns a Checker recording into db; it checks nothing until
// SetConfig gives it a plan. logger may be nil.
func NewChecker(db *store.DB, logger *slog.Logger) *Checker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Checker{db: db, log: logger, counter: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "weft_tracking_plan_violations_total",
		Help: "Events that failed their tracking plan schema, by event type and mode (reject: refused; flag: stored).",
	}, []string{"event_type", "mode"})}
}

// SetConfig puts c in force for the batches checked from now on. The
// configuration was validated at apply; a plan that no longer compiles is
// logged and checks nothing.
func (c *Checker) SetConfig(cfg Config) {
	p, err := Compile(cfg)
	if err != nil {
		c.log.Error("the tracking plan does not compile: nothing is checked", "err", err)
	}
	c.plan.Store(p)
}

// Collector is the Prometheus counter weft_tracking_plan_violations_total.
func (c *Checker) Collector() prometheus.Collector { return c.counter }

// Violation is one rule an event failed.
type Violation struct {
	Event *store.EventInsert
	Mode  Mode
	// Rule is the schema location of the keyword that failed.
	Rule string
	// Path is where in the payload, with undeclared property names masked.
	Path string
	// Message says what failed, with no payload value.
	Message string
}

// violationsMax bounds the rules recorded of one event.
const violationsMax = 10

// Check applies the plan in force to events: it records the violations,
// and returns the events refused in reject mode, each with Index its
// position in events. An error means nothing was recorded.
func (c *Checker) Check(ctx context.Context, events []store.EventInsert) ([]*event.RecordError, error) {
	p := c.plan.Load()
	if p == nil {
		return nil, nil
	}
	var found []Violation
	var refused []*event.RecordError
	for i, vs := range p.checkAll(events) {
		if len(vs) == 0 {
			continue
		}
		found = append(found, vs...)
		if vs[0].Mode == ModeReject {
			refused = append(refused, &event.RecordError{Index: i, Field: "payload", Reason: rejection(&events[i], vs[0])})
		}
	}
	if len(found) == 0 {
		return nil, nil
	}
	if err := c.record(ctx, found); err != nil {
		return nil, fmt.Errorf("record tracking plan violations: %w", err)
	}
	return refused, nil
}

// chunkMin is the fewest events worth a goroutine of their own.
const chunkMin = 64

// checkAll checks the events whose source has a mode, spreading a large
// batch over the processors: the check costs about as much as the rest of
// ingest, and a batch's append leaves processors idle.
func (p *Plan) checkAll(events []store.EventInsert) [][]Violation {
	out := make([][]Violation, len(events))
	checkRange := func(lo, hi int) {
		d := &decoder{keys: map[string]string{}}
		for i := lo; i < hi; i++ {
			if mode, ok := p.modes[events[i].SourceID]; ok {
				out[i] = p.check(d, &events[i], mode)
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(events)/chunkMin)
	if workers <= 1 {
		checkRange(0, len(events))
		return out
	}
	var wg sync.WaitGroup
	size := (len(events) + workers - 1) / workers
	for lo := 0; lo < len(events); lo += size {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			checkRange(lo, hi)
		}(lo, min(lo+size, len(events)))
	}
	wg.Wait()
	return out
}

// rejection is the reason an event is refused.
func rejection(e *store.EventInsert, v Violation) string {
	path := v.Path
	if path == "" {
		path = "/"
	}
	return fmt.Sprintf("tracking plan of %s: at %s, schema %s failed: %s", e.EventTypeKey.ID(), path, v.Rule, v.Message)
}

// schemaOf is the schema of the event's type, if any.
func (p *Plan) schemaOf(k store.EventTypeKey) *jsonschema.Schema {
	if s, ok := p.schemas[k]; ok {
		return s
	}
	k.Version = ""
	return p.schemas[k]
}

// check validates one event's payload against its type's schema.
func (p *Plan) check(d *decoder, e *store.EventInsert, mode Mode) []Violation {
	sch := p.schemaOf(e.EventTypeKey)
	if sch == nil {
		return nil
	}
	doc, err := d.decode(e.Payload)
	if errors.Is(err, errTooDeep) {
		// A recursive schema walks every level, and the library's cost
		// grows with the square of the depth: 5,000 levels took seconds.
		return []Violation{{Event: e, Mode: mode, Rule: "/", Message: fmt.Sprintf("nested deeper than %d levels: not checked", DepthMax)}}
	}
	if err != nil { // the ingester stores only valid JSON
		return []Violation{{Event: e, Mode: mode, Rule: "/", Message: "the payload is not JSON"}}
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return []Violation{{Event: e, Mode: mode, Message: "cannot be checked: " + err.Error()}}
	}
	var out []Violation
	for _, leaf := range leaves(verr, nil) {
		out = append(out, Violation{Event: e, Mode: mode, Rule: rule(leaf), Path: p.maskPath(leaf.InstanceLocation), Message: describe(leaf.ErrorKind)})
	}
	// The library's order varies from run to run; a refusal names the
	// first, which must not.
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Rule < out[j].Rule
	})
	return out[:min(len(out), violationsMax)]
}

// DepthMax bounds the nesting of the payloads checked: deeper ones fail.
const DepthMax = 64

// leaves are the errors that say what failed: the innermost ones, except
// that the alternatives of anyOf and oneOf count as one.
func leaves(e *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		return append(out, e)
	}
	if len(e.Causes) == 0 {
		return append(out, e)
	}
	for _, c := range e.Causes {
		out = leaves(c, out)
	}
	return out
}

// rule is the error's keyword location in its schema ("/properties/total/minimum").
func rule(e *jsonschema.ValidationError) string {
	_, frag, _ := strings.Cut(e.SchemaURL, "#")
	var b strings.Builder
	b.WriteString(frag)
	for _, tok := range e.ErrorKind.KeywordPath() {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(tok))
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// maskPath is the instance location as a JSON pointer, with the property
// names no schema of the plan declares replaced by "*".
func (p *Plan) maskPath(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		if !p.declared[tok] && !isIndex(tok) {
			tok = "*"
		}
		b.WriteString(pointerEscaper.Replace(tok))
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// describe says what failed without the payload's value: the keyword and
// the schema's own values.
func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Required:
		return "missing properties " + quoteAll(k.Missing)
	case *kind.DependentRequired:
		return "missing properties " + quoteAll(k.Missing) + " that " + quoteAll([]string{k.Prop}) + " requires"
	case *kind.Type:
		return fmt.Sprintf("got %s, want %s", k.Got, strings.Join(k.Want, " or "))
	case *kind.Minimum:
		return "must be >= " + ratText(k.Want)
	case *kind.Maximum:
		return "must be <= " + ratText(k.Want)
	case *kind.ExclusiveMinimum:
		return "must be > " + ratText(k.Want)
	case *kind.ExclusiveMaximum:
		return "must be < " + ratText(k.Want)
	case *kind.MultipleOf:
		return "must be a multiple of " + ratText(k.Want)
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %d characters", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters", k.Want)
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items", k.Want)
	case *kind.MinProperties:
		return fmt.Sprintf("must have at least %d properties", k.Want)
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %d properties", k.Want)
	case *kind.Pattern:
		return fmt.Sprintf("must match the pattern %q", k.Want)
	case *kind.Format:
		return fmt.Sprintf("must be a valid %s", k.Want)
	case *kind.Enum:
		return "must be one of the values the schema lists"
	case *kind.Const:
		return "must be the value the schema sets"
	case *kind.AdditionalProperties:
		return "has properties the schema does not allow"
	case *kind.AnyOf:
		return "matches none of the anyOf schemas"
	case *kind.OneOf:
		return "must match exactly one of the oneOf schemas"
	case *kind.FalseSchema:
		return "is not allowed here"
	case *kind.UniqueItems:
		return "must not repeat items"
	case *kind.RefCycle:
		return "the schema refers to itself without end"
	}
	kw := k.KeywordPath()
	if len(kw) == 0 {
		return "fails the schema"
	}
	return "fails " + kw[0]
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// ratText is a schema number as JSON writes it.
func ratText(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return new(big.Float).SetPrec(128).SetRat(r).Text('g', -1)
}
