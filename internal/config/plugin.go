package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/consent"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/quartz"
)

// validateGoal checks an attribute goal against the attribute's
// definition and normalizes its value; field names the failing key.
func validateGoal(g *plugin.GoalSpec, attrs map[string]*attr.Definition) (field string, err error) {
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
	if !slices.Contains(plugin.GoalOps, g.Op) {
		return "op", fmt.Errorf("%q must be one of %s", g.Op, strings.Join(plugin.GoalOps, ", "))
	}
	typ := a.ResultType()
	if g.Op == plugin.GoalIsSet {
		if g.Value != nil {
			return "value", errors.New("is_set takes no value")
		}
		return "", nil
	}
	if a.Multiple() {
		return "op", fmt.Errorf("attribute %s holds a list (type %s): only is_set applies", a.ID, a.Type)
	}
	ordered := typ == attr.DataInt || typ == attr.DataFloat || typ == attr.DataDate || typ == attr.DataDatetime
	if !ordered && g.Op != plugin.GoalEq && g.Op != plugin.GoalNe {
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
		v := plugin.Variable{Name: "value", Type: plugin.VarNumber}
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

var (
	pluginName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,47}$`)
	varName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	columnName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	goalEvent  = regexp.MustCompile(`^[^/\s]+/[^/\s]+/[^/\s]+$`)
)

// Plugin finds a declared plugin by name.
func (c *Config) Plugin(name string) (*plugin.Definition, bool) {
	for i := range c.Plugins {
		if c.Plugins[i].Name == name {
			return &c.Plugins[i], true
		}
	}
	return nil, false
}

func validatePlugins(ps []plugin.Definition, attrs []attr.Definition, consents consent.Config) error {
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
		if err := p.ValidateKind(); err != nil {
			var fe *plugin.FieldError
			if errors.As(err, &fe) {
				return at(fe.Field, "%w", fe.Err)
			}
			return at("", "%w", err)
		}
		if p.Purpose != "" && consents.Filter(p.Purpose) == nil {
			return at("purpose", "consent names no attribute for purpose %q: declare consent.%s.attribute, or leave purpose out (the default, %s, restricts the dataset only when consent names it)", p.Purpose, p.Purpose, consent.Analytics)
		}
		if p.Goal != nil {
			if fld, err := validateGoal(p.Goal, known); err != nil {
				if fld != "" {
					fld = "." + fld
				}
				return at("goal"+fld, "%v", err)
			}
		}
		switch {
		case !slices.Contains(plugin.InitialMoments, p.Moment) && p.Moment != "":
			return at("moment", "%q must be one of %s", p.Moment, strings.Join(plugin.InitialMoments, ", "))
		case p.Moment == plugin.Moment95Pct && (p.Goal == nil || p.Goal.Event == ""):
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
			for _, fixed := range plugin.FixedColumns {
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
				v.Type = plugin.VarNumber
			}
			switch v.Type {
			case plugin.VarNumber, plugin.VarBoolean, plugin.VarText, plugin.VarDate:
			default:
				return at(fld+".type", "%q must be number, boolean, text or date", v.Type)
			}
			if len(v.Options) > 0 && v.Type != plugin.VarText {
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
		if p.ParallelBatches < 0 || p.ParallelBatches > plugin.ParallelBatchesMax {
			return at("parallel_batches", "%d must be from 1 to %d (default 1: one batch after the other)", p.ParallelBatches, plugin.ParallelBatchesMax)
		}
		if p.Schedule != "" {
			if _, err := quartz.Parse(p.Schedule); err != nil {
				return at("schedule", "%v", err)
			}
		}
	}
	return nil
}

func validateHyperParameters(p *plugin.Definition, at func(field string, format string, args ...any) error) error {
	if p.MaxVariations < 0 || p.MaxVariations > plugin.MaxVariationsMax {
		return at("max_variations", "%d must be from 1 to %d (default %d)", p.MaxVariations, plugin.MaxVariationsMax, plugin.MaxVariationsDefault)
	}
	if p.ParallelVariations < 0 || p.ParallelVariations > plugin.ParallelVariationsMax {
		return at("parallel_variations", "%d must be from 1 to %d (default %d)", p.ParallelVariations, plugin.ParallelVariationsMax, plugin.ParallelVariationsDefault)
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
		if _, err := h.Values(); errors.Is(err, plugin.ErrSteps) {
			return at(fld+".steps", "%v", err)
		} else if err != nil {
			return at(fld+".spec", "%v", err)
		}
	}
	return nil
}
