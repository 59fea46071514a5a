package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/quartz"
)

// Plugin declares an external plugin program (package plugin): how to
// run it, what its dataset holds and which variables it asks.
type Plugin struct {
	// Name (lower case letters, digits, - and _) names the plugin in the
	// API, the CLI and the ids of the properties it publishes.
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Command is the argv; Weft appends manifest.json and results.json
	// and runs it in a fresh working directory per stage. A relative
	// program name is looked up on PATH.
	Command []string `json:"command" yaml:"command"`
	// Goal is the binary goal of the dataset's y_value; nil is the goal
	// None (y_value "false" for everyone).
	Goal *PluginGoal `json:"goal,omitempty" yaml:"goal,omitempty"`
	// Features are the dataset's feature columns, in order.
	Features []PluginFeature `json:"features,omitempty" yaml:"features,omitempty"`
	// Moment is the initial dataset's moment: latest (the default,
	// everything up to now), 0_sec (each user's initial state) or 95_pct
	// (the moment before which 95% of the users who reached the goal had
	// not; needs an event goal).
	Moment string `json:"moment,omitempty" yaml:"moment,omitempty"`
	// Variables are the plugin's inputParams with their defaults.
	Variables []PluginVariable `json:"variables,omitempty" yaml:"variables,omitempty"`
	// HyperParameters are auto-optimized inputParams: the initial stage
	// runs once per variation (see Variations), and the best-scoring
	// one's results and files go on to the later stages.
	HyperParameters []PluginHyperParameter `json:"hyperparameters,omitempty" yaml:"hyperparameters,omitempty"`
	// MaxVariations caps the variations (default 10, at most 100).
	MaxVariations int `json:"max_variations,omitempty" yaml:"max_variations,omitempty"`
	// ParallelVariations is how many variations run at once (default 2,
	// at most 16).
	ParallelVariations int `json:"parallel_variations,omitempty" yaml:"parallel_variations,omitempty"`
	// StageTimeout bounds each stage process (Go duration, default 1h).
	StageTimeout string `json:"stage_timeout,omitempty" yaml:"stage_timeout,omitempty"`
	// Schedule is a Quartz cron expression in UTC; empty: run on demand.
	Schedule string `json:"schedule,omitempty" yaml:"schedule,omitempty"`
}

// PluginGoal is a binary goal: whether the customer did an event type,
// or whether a customer attribute meets a condition. Exactly one of Event
// and Attribute is set.
type PluginGoal struct {
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
func (g *PluginGoal) Human() string {
	switch {
	case g.Event != "":
		return "did " + g.Event + " at least 1 time"
	case g.Op == GoalIsSet:
		return g.Attribute + " is set"
	}
	return fmt.Sprintf("%s %s %v", g.Attribute, g.Op, g.Value)
}

// validateGoal checks an attribute goal against the attribute's
// definition and normalizes its value; field names the failing key.
func validateGoal(g *PluginGoal, attrs map[string]*attr.Definition) (field string, err error) {
	if (g.Event == "") == (g.Attribute == "") {
		return "", errors.New("give exactly one of event (\"did event type X\") and attribute (a condition on an attribute); leave goal out for none")
	}
	if g.Event != "" {
		switch {
		case !goalEvent.MatchString(g.Event):
			return "event", fmt.Errorf("%q must be an event type source/type/version (leave goal out for none)", g.Event)
		case g.Op != "" || g.Value != nil:
			return "op", errors.New("op and value belong to attribute goals")
		}
		return "", nil
	}
	a := attrs[g.Attribute]
	if a == nil {
		return "attribute", fmt.Errorf("no attribute %q is declared under attributes", g.Attribute)
	}
	if !slices.Contains(GoalOps, g.Op) {
		return "op", fmt.Errorf("%q must be one of %s", g.Op, strings.Join(GoalOps, ", "))
	}
	typ := a.ResultType()
	if g.Op == GoalIsSet {
		if g.Value != nil {
			return "value", errors.New("is_set takes no value")
		}
		return "", nil
	}
	if a.Multiple() {
		return "op", fmt.Errorf("attribute %s holds a list (type %s): only is_set applies", a.ID, a.Type)
	}
	ordered := typ == attr.DataInt || typ == attr.DataFloat || typ == attr.DataDate || typ == attr.DataDatetime
	if !ordered && g.Op != GoalEq && g.Op != GoalNe {
		return "op", fmt.Errorf("attribute %s is a %s: only =, != and is_set apply", a.ID, typ)
	}
	if g.Value == nil {
		return "value", fmt.Errorf("is required: a %s to compare %s with", typ, a.ID)
	}
	v, err := goalValue(typ, g.Value)
	if err != nil {
		return "value", err
	}
	g.Value = v
	return "", nil
}

// goalValue converts a goal's operand to the attribute's data type.
func goalValue(typ string, in any) (any, error) {
	switch typ {
	case attr.DataInt, attr.DataFloat:
		v := PluginVariable{Name: "value", Type: VarNumber}
		if _, isText := in.(string); isText {
			return nil, fmt.Errorf("%q is text: the attribute is a %s, give a number", in, typ)
		}
		return v.Value(in)
	case attr.DataBool:
		if b, ok := in.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("%v must be true or false: the attribute is a bool", in)
	case attr.DataDate:
		if t, ok := in.(time.Time); ok {
			return t.UTC().Format(time.DateOnly), nil
		}
		if s, ok := in.(string); ok {
			if _, err := time.Parse(time.DateOnly, s); err == nil {
				return s, nil
			}
		}
		return nil, fmt.Errorf("%v must be a date YYYY-MM-DD: the attribute is a date", in)
	case attr.DataDatetime:
		if t, ok := in.(time.Time); ok {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
		if s, ok := in.(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t.UTC().Format(time.RFC3339Nano), nil
			}
		}
		return nil, fmt.Errorf("%v must be an RFC 3339 time (2024-01-31T12:00:00Z): the attribute is a datetime", in)
	default:
		s, ok := in.(string)
		if !ok {
			return nil, fmt.Errorf("%v must be text (quote it): the attribute is a string", in)
		}
		return s, nil
	}
}

// PluginFeature is one feature column: an attribute or a published
// plugin property, by id.
type PluginFeature struct {
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

// PluginVariable is a question whose answer goes into inputParams.
type PluginVariable struct {
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

var (
	pluginName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,47}$`)
	varName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	columnName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	goalEvent  = regexp.MustCompile(`^[^/\s]+/[^/\s]+/[^/\s]+$`)
)

// Initial dataset moments (Stormly's "initial dataset moment").
const (
	Moment0Sec   = "0_sec"
	MomentLatest = "latest"
	Moment95Pct  = "95_pct"
)

// InitialMoments are the values of a plugin's moment.
var InitialMoments = []string{Moment0Sec, MomentLatest, Moment95Pct}

// PluginJobPrefix starts the job name of a declared plugin's runs:
// plugin:<name>, of job kind "plugin".
const PluginJobPrefix = "plugin:"

// Plugin finds a declared plugin by name.
func (c *Config) Plugin(name string) (*Plugin, bool) {
	for i := range c.Plugins {
		if c.Plugins[i].Name == name {
			return &c.Plugins[i], true
		}
	}
	return nil, false
}

// Timeout is the stage timeout, 0 for the default.
func (p *Plugin) Timeout() time.Duration {
	d, _ := time.ParseDuration(p.StageTimeout)
	return d
}

// FeatureColumn is the dataset column of feature i.
func (p *Plugin) FeatureColumn(i int) string {
	f := p.Features[i]
	switch {
	case f.Column != "":
		return f.Column
	case f.Attribute != "":
		return "feature_" + f.Attribute
	}
	return "feature_" + strconv.Itoa(i)
}

func validatePlugins(ps []Plugin, attrs []attr.Definition) error {
	known := map[string]*attr.Definition{}
	for i := range attrs {
		known[attrs[i].ID] = &attrs[i]
	}
	seen := map[string]bool{}
	for i := range ps {
		p := &ps[i]
		at := func(field string, format string, args ...any) error {
			f := fmt.Sprintf("plugins[%d]", i)
			if field != "" {
				f += "." + field
			}
			return &Error{Field: f, Err: fmt.Errorf(format, args...)}
		}
		switch {
		case !pluginName.MatchString(p.Name):
			return at("name", "%q must be lower case letters, digits, - and _, starting with a letter, at most 48 characters", p.Name)
		case seen[p.Name]:
			return at("name", "%q is declared twice", p.Name)
		case len(p.Command) == 0 || strings.TrimSpace(p.Command[0]) == "":
			return at("command", "is required: the program and its arguments, as [\"python3\", \"main.py\"]")
		}
		seen[p.Name] = true
		if p.Goal != nil {
			if fld, err := validateGoal(p.Goal, known); err != nil {
				if fld != "" {
					fld = "." + fld
				}
				return at("goal"+fld, "%v", err)
			}
		}
		switch {
		case !slices.Contains(InitialMoments, p.Moment) && p.Moment != "":
			return at("moment", "%q must be one of %s", p.Moment, strings.Join(InitialMoments, ", "))
		case p.Moment == Moment95Pct && (p.Goal == nil || p.Goal.Event == ""):
			return at("moment", "95_pct needs an event goal (goal: {event: ...}): it is computed from the time users reached it")
		}
		cols := map[string]bool{}
		for j, f := range p.Features {
			fld := fmt.Sprintf("features[%d]", j)
			switch {
			case (f.Attribute == "") == (f.Property == ""):
				return at(fld, "give exactly one of attribute and property")
			case f.Attribute != "" && known[f.Attribute] == nil:
				return at(fld+".attribute", "no attribute %q is declared under attributes", f.Attribute)
			case f.Column != "" && !columnName.MatchString(f.Column):
				return at(fld+".column", "%q must be letters, digits and _", f.Column)
			}
			col := p.FeatureColumn(j)
			for _, fixed := range fixedColumns {
				if col == fixed {
					return at(fld+".column", "%q is a fixed dataset column", col)
				}
			}
			if cols[col] {
				return at(fld+".column", "column %q is used twice", col)
			}
			cols[col] = true
		}
		vars := map[string]bool{}
		for j := range p.Variables {
			v := &p.Variables[j]
			fld := fmt.Sprintf("variables[%d]", j)
			if !varName.MatchString(v.Name) {
				return at(fld+".name", "%q must be letters, digits and _", v.Name)
			}
			if vars[v.Name] {
				return at(fld+".name", "%q is declared twice", v.Name)
			}
			vars[v.Name] = true
			if v.Type == "" {
				v.Type = VarNumber
			}
			switch v.Type {
			case VarNumber, VarBoolean, VarText, VarDate:
			default:
				return at(fld+".type", "%q must be number, boolean, text or date", v.Type)
			}
			if len(v.Options) > 0 && v.Type != VarText {
				return at(fld+".options", "only text variables have options")
			}
			if v.Default != nil {
				d, err := v.Value(v.Default)
				if err != nil {
					return at(fld+".default", "%v", err)
				}
				v.Default = d
			}
		}
		if err := validateHyperParameters(p, at); err != nil {
			return err
		}
		if p.StageTimeout != "" {
			if d, err := time.ParseDuration(p.StageTimeout); err != nil || d <= 0 {
				return at("stage_timeout", "%q must be a positive Go duration, as 30m or 2h", p.StageTimeout)
			}
		}
		if p.Schedule != "" {
			if _, err := quartz.Parse(p.Schedule); err != nil {
				return at("schedule", "%v", err)
			}
		}
	}
	return nil
}

// fixedColumns mirrors plugin.FixedColumns (config cannot import plugin).
var fixedColumns = []string{"user_id", "user_created", "data_now", "y_value", "y_timestamp", "random",
	"moment_key", "user_moment_base_timestamp", "moment_timestamp"}

// Value converts an answer to the variable's type: numbers become
// float64 (text holding a number is accepted, as from --param k=v),
// booleans bool, text and dates string.
func (v *PluginVariable) Value(in any) (any, error) {
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
func (p *Plugin) InputParams(answers map[string]any) (map[string]any, error) {
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
func (p *Plugin) variableNames() string {
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
