package plugin

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/consent"
)

// Definition declares an external plugin program (weft.yaml's plugins,
// parsed and validated by package config): how to run it, what its
// dataset holds and which variables it asks.
type Definition struct {
	// Name (lower case letters, digits, - and _) names the plugin in the
	// API, the CLI and the ids of the properties it publishes.
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Kind is intelligence (the default: datasets of users, stages,
	// batches) or report (one report over the event log, see Report).
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
	// Report declares a report plugin's report (kind report only).
	Report *ReportSpec `json:"report,omitempty" yaml:"report,omitempty"`
	// Command is the argv; Weft appends manifest.json and results.json
	// and runs it in a fresh working directory per stage. A relative
	// program name is looked up on PATH.
	Command []string `json:"command" yaml:"command"`
	// Goal is the binary goal of the dataset's y_value; nil is the goal
	// None (y_value "false" for everyone).
	Goal *GoalSpec `json:"goal,omitempty" yaml:"goal,omitempty"`
	// Features are the dataset's feature columns, in order.
	Features []FeatureSpec `json:"features,omitempty" yaml:"features,omitempty"`
	// Moment is the initial dataset's moment: latest (the default,
	// everything up to now), 0_sec (each user's initial state) or 95_pct
	// (the moment before which 95% of the users who reached the goal had
	// not; needs an event goal).
	Moment string `json:"moment,omitempty" yaml:"moment,omitempty"`
	// Variables are the plugin's inputParams with their defaults.
	Variables []Variable `json:"variables,omitempty" yaml:"variables,omitempty"`
	// HyperParameters are auto-optimized inputParams: the initial stage,
	// and the additional stages it asks for, run once per variation (see
	// Variations); a variation's score is its last stage's that has one,
	// and the best one's results and files go on to the batches and the
	// deployment.
	HyperParameters []HyperParameter `json:"hyperparameters,omitempty" yaml:"hyperparameters,omitempty"`
	// MaxVariations caps the variations (default 10, at most 100).
	MaxVariations int `json:"max_variations,omitempty" yaml:"max_variations,omitempty"`
	// ParallelVariations is how many variations run at once (default 2,
	// at most 16).
	ParallelVariations int `json:"parallel_variations,omitempty" yaml:"parallel_variations,omitempty"`
	// ParallelBatches is how many batch stages of a run run at once
	// (default 1, one after the other; at most 16). Their data.json are
	// staged in batch order, so the run's result is the same.
	ParallelBatches int `json:"parallel_batches,omitempty" yaml:"parallel_batches,omitempty"`
	// StageTimeout bounds each stage process (Go duration, default 1h).
	StageTimeout string `json:"stage_timeout,omitempty" yaml:"stage_timeout,omitempty"`
	// Schedule is a Quartz cron expression in UTC; empty: run on demand.
	Schedule string `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	// Purpose is what the plugin processes profiles for (a purpose of
	// weft.yaml's consent section): its datasets leave out the profiles
	// without consent for it. Default analytics, which restricts nothing
	// unless the consent section names it.
	Purpose string `json:"purpose,omitempty" yaml:"purpose,omitempty"`
}

// ParallelBatchesMax bounds Definition.ParallelBatches.
const ParallelBatchesMax = 16

// PurposeOrDefault is Purpose, or consent.Analytics.
func (d *Definition) PurposeOrDefault() string {
	if d.Purpose != "" {
		return d.Purpose
	}
	return consent.Analytics
}

// GoalSpec is a binary goal: whether the customer did an event type,
// or whether a customer attribute meets a condition. Exactly one of Event
// and Attribute is set.
type GoalSpec struct {
	// Event is source/type/version, as "shop/purchase/1".
	Event string `json:"event,omitempty" yaml:"event,omitempty"`
	// Attribute is the id of a declared attribute; Op one of GoalOps;
	// Value the operand, of the attribute's data type (a number for int
	// and float, true/false for bool, text for string, YYYY-MM-DD for
	// date, RFC 3339 for datetime), absent for is_set. Apply normalizes
	// Value: numbers become float64, datetimes RFC 3339 UTC.
	Attribute string `json:"attribute,omitempty" yaml:"attribute,omitempty"`
	Op        string `json:"op,omitempty" yaml:"op,omitempty"`
	Value     any    `json:"value,omitempty" yaml:"value,omitempty"`
}

// Goal operators of an attribute goal.
const (
	GoalEq    = "="
	GoalNe    = "!="
	GoalGt    = ">"
	GoalGe    = ">="
	GoalLt    = "<"
	GoalLe    = "<="
	GoalIsSet = "is_set"
)

// GoalOps are the operators of attribute goals, in the order messages
// list them.
var GoalOps = []string{GoalEq, GoalNe, GoalGt, GoalGe, GoalLt, GoalLe, GoalIsSet}

// Human is the goal as a sentence: "did shop/purchase/1 at least 1 time"
// or "total_spend > 100".
func (g *GoalSpec) Human() string {
	switch {
	case g.Event != "":
		return "did " + g.Event + " at least 1 time"
	case g.Op == GoalIsSet:
		return g.Attribute + " is set"
	}
	return fmt.Sprintf("%s %s %v", g.Attribute, g.Op, g.Value)
}

// FeatureSpec is one feature column: an attribute or a published
// plugin property, by id.
type FeatureSpec struct {
	Attribute string `json:"attribute,omitempty" yaml:"attribute,omitempty"`
	Property  string `json:"property,omitempty" yaml:"property,omitempty"`
	// Column names the dataset column (default feature_<attribute>, or
	// feature_<n> for a property); Name is the readable name in
	// metadata.features (default the id).
	Column string `json:"column,omitempty" yaml:"column,omitempty"`
	Name   string `json:"name,omitempty" yaml:"name,omitempty"`
}

// Variable types.
const (
	VarNumber  = "number"
	VarBoolean = "boolean"
	VarText    = "text"
	VarDate    = "date"
)

// Variable is a question whose answer goes into inputParams.
type Variable struct {
	// Name: letters, digits and _.
	Name string `json:"name" yaml:"name"`
	// Type is number (sent as a float), boolean, text or date (RFC 3339
	// or YYYY-MM-DD, sent as text). Default number.
	Type        string `json:"type,omitempty" yaml:"type,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Default is sent when a run gives no answer.
	Default any `json:"default,omitempty" yaml:"default,omitempty"`
	// Optional variables without an answer and without a default are
	// absent from inputParams; a required one without either fails the
	// run's trigger.
	Optional bool `json:"optional,omitempty" yaml:"optional,omitempty"`
	// Options restricts a text variable to these values (a dropdown).
	Options []string `json:"options,omitempty" yaml:"options,omitempty"`
}

// Initial dataset moments (Stormly's "initial dataset moment"); the third
// is MomentLatest, the dataset moment of the same name.
const (
	Moment0Sec  = "0_sec"
	Moment95Pct = "95_pct"
)

// InitialMoments are the values of a plugin's moment.
var InitialMoments = []string{Moment0Sec, MomentLatest, Moment95Pct}

// JobPrefix starts the job name of a declared plugin's runs:
// plugin:<name>, of job kind "plugin".
const JobPrefix = "plugin:"

// Timeout is the stage timeout, 0 for the default.
func (p *Definition) Timeout() time.Duration {
	d, _ := time.ParseDuration(p.StageTimeout)
	return d
}

// FeatureColumn is the dataset column of feature i.
func (p *Definition) FeatureColumn(i int) string {
	f := p.Features[i]
	switch {
	case f.Column != "":
		return f.Column
	case f.Attribute != "":
		return "feature_" + f.Attribute
	}
	return "feature_" + strconv.Itoa(i)
}

// Value converts an answer to the variable's type: numbers become
// float64 (text holding a number is accepted, as from --param k=v),
// booleans bool, text and dates string.
func (v *Variable) Value(in any) (any, error) {
	typ := v.Type
	if typ == "" {
		typ = VarNumber
	}
	switch typ {
	case VarNumber:
		var f float64
		switch x := in.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		case uint64:
			f = float64(x)
		case string:
			var err error
			if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
				return nil, fmt.Errorf("%s: %q is not a number", v.Name, x)
			}
		default:
			return nil, fmt.Errorf("%s: %v is not a number", v.Name, in)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s: %v is not a finite number", v.Name, f)
		}
		return f, nil
	case VarBoolean:
		switch x := in.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("%s: %v is not true or false", v.Name, in)
	case VarDate:
		s, ok := in.(string)
		if !ok {
			if t, isTime := in.(time.Time); isTime {
				return t.UTC().Format(time.RFC3339), nil
			}
			return nil, fmt.Errorf("%s: %v is not a date", v.Name, in)
		}
		if _, err := time.Parse(time.RFC3339, s); err == nil {
			return s, nil
		}
		if _, err := time.Parse(time.DateOnly, s); err == nil {
			return s, nil
		}
		return nil, fmt.Errorf("%s: %q is not a date (YYYY-MM-DD or RFC 3339)", v.Name, s)
	default: // text
		var s string
		switch x := in.(type) {
		case string:
			s = x
		case float64, int, int64, bool:
			s = fmt.Sprint(x)
		default:
			return nil, fmt.Errorf("%s: %v is not text", v.Name, in)
		}
		if len(v.Options) > 0 {
			for _, o := range v.Options {
				if o == s {
					return s, nil
				}
			}
			return nil, fmt.Errorf("%s: %q is not one of %s", v.Name, s, strings.Join(v.Options, ", "))
		}
		return s, nil
	}
}

// ErrUnknownVariable is an answer to a variable the plugin does not ask.
var ErrUnknownVariable = errors.New("unknown variable")

// InputParams builds a run's inputParams from its answers: each answer
// converted to its variable's type (numbers as floats), defaults for the
// unanswered, unanswered optional variables without a default absent.
// An answer to a hyper-parameter with AllowOverride fixes it (it is in
// the result, and Variations leaves it out); one without is refused.
func (p *Definition) InputParams(answers map[string]any) (map[string]any, error) {
	out := map[string]any{}
	asked := map[string]bool{}
	for i := range p.Variables {
		v := &p.Variables[i]
		asked[v.Name] = true
		a, ok := answers[v.Name]
		if !ok || a == nil {
			switch {
			case v.Default != nil:
				a = v.Default
			case v.Optional:
				continue
			default:
				return nil, fmt.Errorf("variable %s is required (it has no default)", v.Name)
			}
		}
		val, err := v.Value(a)
		if err != nil {
			return nil, err
		}
		out[v.Name] = val
	}
	for i := range p.HyperParameters {
		h := &p.HyperParameters[i]
		a, ok := answers[h.Name]
		asked[h.Name] = true
		if !ok || a == nil {
			continue
		}
		if !h.AllowOverride {
			return nil, fmt.Errorf("%w: %s is an auto-optimized hyper-parameter of plugin %s without allow_override: true", ErrNotOverridable, h.Name, p.Name)
		}
		val, err := h.Value(a)
		if err != nil {
			return nil, err
		}
		out[h.Name] = val
	}
	for k := range answers {
		if !asked[k] {
			return nil, fmt.Errorf("%w %q: plugin %s asks %s", ErrUnknownVariable, k, p.Name, p.variableNames())
		}
	}
	return out, nil
}

// ErrNotOverridable is an answer to a hyper-parameter that does not
// allow one.
var ErrNotOverridable = errors.New("hyper-parameter cannot be answered")

// variableNames lists what a run may answer: the variables and the
// hyper-parameters that allow an override.
func (p *Definition) variableNames() string {
	var names []string
	for _, v := range p.Variables {
		names = append(names, v.Name)
	}
	for _, h := range p.HyperParameters {
		if h.AllowOverride {
			names = append(names, h.Name)
		}
	}
	if len(names) == 0 {
		return "no variables"
	}
	return strings.Join(names, ", ")
}
