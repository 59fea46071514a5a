package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// PluginHyperParameter is an auto-optimized inputParam (spec §11): the
// run's initial stage runs once per variation, a grid over every
// hyper-parameter's values, and the variation with the highest score wins.
type PluginHyperParameter struct {
	// Name is the inputParams key: letters, digits and _, not a variable's.
	Name string `json:"name" yaml:"name"`
	// Spec is Stormly's "<type> <values>": "integer 1,4,10", "integer
	// 1:100" (an inclusive range), "float 0.01,0.1", "float 0.0:1.0",
	// "category blue,green" or "boolean true,false".
	Spec string `json:"spec" yaml:"spec"`
	// Steps is how many evenly spaced values a range gives, both ends
	// included (default 3; integers are rounded and repeats dropped).
	Steps int `json:"steps,omitempty" yaml:"steps,omitempty"`
}

// Hyper-parameter limits.
const (
	HyperStepsDefault         = 3
	HyperStepsMax             = 100
	MaxVariationsDefault      = 10
	MaxVariationsMax          = 100
	hyperValuesMax            = 1000
	hyperIntegerRangeMaxValue = 1 << 53
)

// Values lists the hyper-parameter's values in order: numbers as float64
// (integers too, as inputParams sends them), categories as strings,
// booleans as bool.
func (h *PluginHyperParameter) Values() ([]any, error) {
	typ, list, ok := strings.Cut(strings.TrimSpace(h.Spec), " ")
	list = strings.TrimSpace(list)
	if !ok || list == "" {
		return nil, fmt.Errorf("%q must be \"<type> <values>\": integer 1,4,10, integer 1:100, float 0.0:1.0, category blue,green or boolean true,false", h.Spec)
	}
	steps := h.Steps
	if steps == 0 {
		steps = HyperStepsDefault
	}
	if steps < 1 || steps > HyperStepsMax {
		return nil, fmt.Errorf("steps %d must be from 1 to %d", h.Steps, HyperStepsMax)
	}
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
		var out []any
		for i := range steps {
			v := a
			if steps > 1 {
				v = a + (b-a)*float64(i)/float64(steps-1)
			}
			if typ == "integer" {
				v = math.Round(v)
			}
			if len(out) == 0 || out[len(out)-1] != v {
				out = append(out, v)
			}
		}
		return out, nil
	}
	parts := strings.Split(list, ",")
	if len(parts) > hyperValuesMax {
		return nil, fmt.Errorf("%q: at most %d values", h.Spec, hyperValuesMax)
	}
	out := make([]any, 0, len(parts))
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
		out = append(out, v)
	}
	return out, nil
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

// Variations is the grid of hyper-parameter values, in declared order
// with the last hyper-parameter varying fastest, cut to the first
// MaxVariations (default 10); total is the grid's full size. Nil without
// hyper-parameters.
func (p *Plugin) Variations() (vs []map[string]any, total int, err error) {
	if len(p.HyperParameters) == 0 {
		return nil, 0, nil
	}
	limit := p.MaxVariations
	if limit == 0 {
		limit = MaxVariationsDefault
	}
	values := make([][]any, len(p.HyperParameters))
	total = 1
	for i := range p.HyperParameters {
		if values[i], err = p.HyperParameters[i].Values(); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", p.HyperParameters[i].Name, err)
		}
		total = min(total*len(values[i]), math.MaxInt32)
	}
	idx := make([]int, len(values))
	for len(vs) < limit {
		v := map[string]any{}
		for i, h := range p.HyperParameters {
			v[h.Name] = values[i][idx[i]]
		}
		vs = append(vs, v)
		k := len(idx) - 1
		for ; k >= 0; k-- { // odometer
			if idx[k]++; idx[k] < len(values[k]) {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			break
		}
	}
	return vs, total, nil
}

func validateHyperParameters(p *Plugin, at func(field string, format string, args ...any) error) error {
	if p.MaxVariations < 0 || p.MaxVariations > MaxVariationsMax {
		return at("max_variations", "%d must be from 1 to %d (default %d)", p.MaxVariations, MaxVariationsMax, MaxVariationsDefault)
	}
	names := map[string]bool{}
	for _, v := range p.Variables {
		names[v.Name] = true
	}
	for i := range p.HyperParameters {
		h := &p.HyperParameters[i]
		fld := fmt.Sprintf("hyperparameters[%d]", i)
		switch {
		case !varName.MatchString(h.Name):
			return at(fld+".name", "%q must be letters, digits and _", h.Name)
		case names[h.Name]:
			return at(fld+".name", "%q is already a variable or hyper-parameter", h.Name)
		}
		names[h.Name] = true
		if _, err := h.Values(); err != nil {
			if strings.HasPrefix(err.Error(), "steps ") {
				return at(fld+".steps", "%v", err)
			}
			return at(fld+".spec", "%v", err)
		}
	}
	return nil
}
