package plugin

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// HyperParameter is an auto-optimized inputParam (spec §11): the
// run's initial stage, with the stages it asks for, runs once per
// variation, and the variation with the highest score wins. Lists (and ranges with Steps) make a grid;
// ranges without Steps are drawn at random for each variation.
type HyperParameter struct {
	// Name is the inputParams key: letters, digits and _, not a variable's.
	Name string `json:"name" yaml:"name"`
	// Spec is Stormly's "<type> <values>": "integer 1,4,10", "integer
	// 1:100" (an inclusive range), "float 0.01,0.1", "float 0.0:1.0",
	// "category blue,green" or "boolean true,false".
	Spec string `json:"spec" yaml:"spec"`
	// Steps turns a range into that many evenly spaced values, both ends
	// included (integers rounded, repeats dropped), a grid axis like a
	// list. Zero (the default): each variation draws a value of the
	// range at random, from a seed of the run.
	Steps int `json:"steps,omitempty" yaml:"steps,omitempty"`
	// AllowOverride is the spec's "allow user to override this
	// auto-optimized value": a run may answer the hyper-parameter
	// (--param, inputParams) with one of its values, which then fixes it
	// for every variation. Without it an answer is refused.
	AllowOverride bool `json:"allow_override,omitempty" yaml:"allow_override,omitempty"`
}

// Hyper-parameter limits.
const (
	HyperStepsMax             = 100
	MaxVariationsDefault      = 10
	MaxVariationsMax          = 100
	ParallelVariationsDefault = 2
	ParallelVariationsMax     = 16
	hyperValuesMax            = 1000
	hyperIntegerRangeMaxValue = 1 << 53
	// hyperRedraws bounds the draws that try to avoid repeating an
	// earlier variation (possible with small integer ranges).
	hyperRedraws = 100
)

// hyperDomain is a parsed spec: a list of values (a list, or a range
// with steps), or a range to draw from.
type hyperDomain struct {
	typ    string
	list   []any
	lo, hi float64
	draw   bool
}

// size is the number of distinct values; 0 for a float range drawn at
// random (unbounded).
func (d *hyperDomain) size() int {
	switch {
	case !d.draw:
		return len(d.list)
	case d.typ == "integer":
		return int(min(d.hi-d.lo+1, math.MaxInt32))
	}
	return 0
}

// random draws a value of a range: an integer from lo to hi, or a float
// in [lo, hi).
func (d *hyperDomain) random(r *rand.Rand) float64 {
	if d.typ == "integer" {
		return d.lo + float64(r.Int64N(int64(d.hi-d.lo)+1))
	}
	return d.lo + r.Float64()*(d.hi-d.lo)
}

// enumerated is an integer range as the list of its values.
func (d *hyperDomain) enumerated() *hyperDomain {
	out := &hyperDomain{typ: d.typ}
	for v := d.lo; v <= d.hi; v++ {
		out.list = append(out.list, v)
	}
	return out
}

// ErrSteps is a hyper-parameter's steps out of bounds: the validation
// of weft.yaml names the steps key rather than the spec.
var ErrSteps = errors.New("steps")

// domain parses the spec.
func (h *HyperParameter) domain() (*hyperDomain, error) {
	typ, list, ok := strings.Cut(strings.TrimSpace(h.Spec), " ")
	list = strings.TrimSpace(list)
	if !ok || list == "" {
		return nil, fmt.Errorf("%q must be \"<type> <values>\": integer 1,4,10, integer 1:100, float 0.0:1.0, category blue,green or boolean true,false", h.Spec)
	}
	if h.Steps < 0 || h.Steps > HyperStepsMax {
		return nil, fmt.Errorf("%w %d must be from 1 to %d (leave it out to draw values of a range at random)", ErrSteps, h.Steps, HyperStepsMax)
	}
	d := &hyperDomain{typ: typ}
	if lo, hi, isRange := strings.Cut(list, ":"); isRange {
		if typ != "integer" && typ != "float" {
			return nil, fmt.Errorf("%q: only integer and float take a range lo:hi", h.Spec)
		}
		a, err1 := hyperNumber(typ, lo)
		b, err2 := hyperNumber(typ, hi)
		switch {
		case err1 != nil:
			return nil, err1
		case err2 != nil:
			return nil, err2
		case a > b:
			return nil, fmt.Errorf("%q: the range's start is above its end", h.Spec)
		}
		d.lo, d.hi = a, b
		if h.Steps == 0 {
			d.draw = true
			return d, nil
		}
		for i := range h.Steps {
			v := a
			if h.Steps > 1 {
				v = a + (b-a)*float64(i)/float64(h.Steps-1)
			}
			if typ == "integer" {
				v = math.Round(v)
			}
			if len(d.list) == 0 || d.list[len(d.list)-1] != v {
				d.list = append(d.list, v)
			}
		}
		return d, nil
	}
	parts := strings.Split(list, ",")
	if len(parts) > hyperValuesMax {
		return nil, fmt.Errorf("%q: at most %d values", h.Spec, hyperValuesMax)
	}
	seen := map[any]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		var v any
		switch typ {
		case "integer", "float":
			f, err := hyperNumber(typ, p)
			if err != nil {
				return nil, err
			}
			v = f
		case "boolean":
			b, err := strconv.ParseBool(p)
			if err != nil {
				return nil, fmt.Errorf("%q is not true or false", p)
			}
			v = b
		case "category":
			if p == "" {
				return nil, fmt.Errorf("%q: an empty category", h.Spec)
			}
			v = p
		default:
			return nil, fmt.Errorf("type %q must be integer, float, category or boolean", typ)
		}
		if seen[v] {
			return nil, fmt.Errorf("%q: %v is listed twice", h.Spec, v)
		}
		seen[v] = true
		d.list = append(d.list, v)
	}
	return d, nil
}

// Values lists the values of a list or of a range with steps, in order:
// numbers as float64 (integers too, as inputParams sends them),
// categories as strings, booleans as bool. Nil for a range drawn at
// random.
func (h *HyperParameter) Values() ([]any, error) {
	d, err := h.domain()
	if err != nil {
		return nil, err
	}
	return d.list, nil
}

// Value converts a user's answer (spec §11's override) to the
// hyper-parameter's type and checks that the spec allows it: one of the
// listed values, or a number of the range (a whole one for integer).
func (h *HyperParameter) Value(in any) (any, error) {
	d, err := h.domain()
	if err != nil {
		return nil, err
	}
	conv := Variable{Name: h.Name, Type: VarNumber}
	switch d.typ {
	case "boolean":
		conv.Type = VarBoolean
	case "category":
		conv.Type = VarText
	}
	v, err := conv.Value(in)
	if err != nil {
		return nil, err
	}
	if f, isNum := v.(float64); isNum {
		if d.typ == "integer" && f != math.Trunc(f) {
			return nil, fmt.Errorf("%s: %v is not a whole number (spec %q)", h.Name, f, h.Spec)
		}
		if d.draw || h.Steps > 0 {
			if f < d.lo || f > d.hi {
				return nil, fmt.Errorf("%s: %v is outside the range of spec %q", h.Name, f, h.Spec)
			}
			return f, nil
		}
	}
	if !slices.Contains(d.list, v) {
		return nil, fmt.Errorf("%s: %v is not one of the values of spec %q", h.Name, v, h.Spec)
	}
	return v, nil
}

func hyperNumber(typ, s string) (float64, error) {
	s = strings.TrimSpace(s)
	if typ == "integer" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > hyperIntegerRangeMaxValue || n < -hyperIntegerRangeMaxValue {
			return 0, fmt.Errorf("%q is not an integer", s)
		}
		return float64(n), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return f, nil
}

// Variations are the hyper-parameter values of a run's variations, at
// most MaxVariations (default 10), over the hyper-parameters not in
// fixed (the ones a user answered). Lists, and ranges with steps, make a
// grid in declared order, the last varying fastest. Without ranges to
// draw, the variations are the grid's first MaxVariations points. With
// them, there are MaxVariations variations: variation k takes grid
// point k (wrapping around) and a fresh draw of every range, from a
// generator seeded with seed, so a run that computes them again gets the
// same values; a draw that repeats an earlier variation is drawn again
// (up to 100 times). Integer ranges whose every combination fits in
// MaxVariations are enumerated instead of drawn. total is the number of
// distinct combinations before the cap, 0 when a float range makes it
// unbounded. Nil when no hyper-parameter is left to vary.
func (p *Definition) Variations(seed uint64, fixed map[string]any) (vs []map[string]any, total int, err error) {
	var (
		hs      []*HyperParameter
		domains []*hyperDomain
	)
	for i := range p.HyperParameters {
		h := &p.HyperParameters[i]
		if _, ok := fixed[h.Name]; ok {
			continue
		}
		d, err := h.domain()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", h.Name, err)
		}
		hs, domains = append(hs, h), append(domains, d)
	}
	if len(hs) == 0 {
		return nil, 0, nil
	}
	limit := p.MaxVariations
	if limit == 0 {
		limit = MaxVariationsDefault
	}
	total, draws := 1, false
	for _, d := range domains {
		draws = draws || d.draw
		if n := d.size(); n == 0 || total == 0 {
			total = 0
		} else {
			total = min(total*n, math.MaxInt32)
		}
	}
	if draws && total > 0 && total <= limit {
		for i, d := range domains {
			if d.draw {
				domains[i] = d.enumerated()
			}
		}
		draws = false
	}
	n := limit
	if !draws {
		n = min(limit, total)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	idx := make([]int, len(domains)) // the grid point, an odometer over the lists
	for len(vs) < n {
		v := map[string]any{}
		for try := 0; ; try++ {
			for i, d := range domains {
				if d.draw {
					v[hs[i].Name] = d.random(r)
				} else {
					v[hs[i].Name] = d.list[idx[i]]
				}
			}
			if !draws || try == hyperRedraws || !slices.ContainsFunc(vs, func(w map[string]any) bool { return sameParams(v, w) }) {
				break
			}
		}
		vs = append(vs, v)
		for k := len(idx) - 1; k >= 0; k-- { // the odometer wraps around to zeros
			if domains[k].draw {
				continue
			}
			if idx[k]++; idx[k] < len(domains[k].list) {
				break
			}
			idx[k] = 0
		}
	}
	return vs, total, nil
}

func sameParams(a, b map[string]any) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
