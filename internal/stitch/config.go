package stitch

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Config is the stitching part of weft.yaml.
type Config struct {
	Rules       []Rule                `json:"rules" yaml:"rules"`
	Identifiers map[string]Identifier `json:"identifiers,omitempty" yaml:"identifiers,omitempty"`
}

// Rule reads identifiers of one category from events of one type.
type Rule struct {
	// Identifier is the stitching category (Meiro's attribute_id).
	Identifier string `json:"identifier" yaml:"identifier"`
	// Event is source/type/version; without /version the rule reads every
	// version, and source/* every type of the source.
	Event string `json:"event" yaml:"event"`
	// ValueExpression is SQL over one event_log row, in PostgreSQL's
	// dialect; it may return several rows (set-returning).
	ValueExpression string `json:"value_expression" yaml:"value_expression"`
}

// Identifier configures one category.
type Identifier struct {
	// BlockedValues never link (compared after the expression ran).
	BlockedValues []string `json:"blocked_values,omitempty" yaml:"blocked_values,omitempty"`
	// BlockedPattern, a regular expression, blocks the values it matches.
	BlockedPattern string `json:"blocked_pattern,omitempty" yaml:"blocked_pattern,omitempty"`
	// MaxPerEntity is the most values of this category one entity may
	// gather; a link that would exceed it is refused. 0 means no limit.
	MaxPerEntity int `json:"max_per_entity,omitempty" yaml:"max_per_entity,omitempty"`
	// Priority orders the categories for linking: links through a category
	// of priority 1 are decided before those of priority 2, and so on;
	// categories without one (0) come after every category that has one.
	// The most trusted identifiers (a login id) go first, shared ones (a
	// household's email) last, so that a shared one cannot join what the
	// trusted ones keep apart.
	Priority int `json:"priority,omitempty" yaml:"priority,omitempty"`
}

// RuleError names the rule at fault.
type RuleError struct {
	Index int
	Rule  Rule
	Err   error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("stitching.rules[%d] (%s from %s): %v", e.Index, e.Rule.Identifier, e.Rule.Event, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

var categoryPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// eventRef is a parsed Rule.Event.
type eventRef struct{ source, typ, version string }

// anyType as the type of a rule's event reads every type of the source.
const anyType = "*"

func parseEvent(s string) (eventRef, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return eventRef{}, fmt.Errorf("event %q must be source/type or source/type/version", s)
	}
	for i, p := range parts {
		// The type may hold inner spaces (event names of tracking SDKs,
		// "Order Completed"); sources and versions hold none.
		spaced := strings.Contains(p, " ") && (i != 1 || p != strings.TrimSpace(p))
		if p == "" || strings.ContainsAny(p, "'\"\\") || spaced {
			return eventRef{}, fmt.Errorf("event %q has an empty or invalid part", s)
		}
	}
	r := eventRef{source: parts[0], typ: parts[1]}
	if len(parts) == 3 {
		if r.typ == anyType {
			return eventRef{}, fmt.Errorf("event %q: a version needs a type, not %s", s, anyType)
		}
		r.version = parts[2]
	}
	return r, nil
}

// Validate checks the config without the database; ValidateSQL checks the
// expressions against it.
func (c *Config) Validate() error {
	for i, r := range c.Rules {
		var err error
		switch {
		case !categoryPattern.MatchString(r.Identifier):
			err = fmt.Errorf("identifier %q must be lower case letters, digits and _, starting with a letter", r.Identifier)
		case strings.TrimSpace(r.ValueExpression) == "":
			err = errors.New("value_expression is empty")
		case strings.Contains(r.ValueExpression, ";"):
			err = errors.New("value_expression must be one expression, without ';'")
		default:
			_, err = parseEvent(r.Event)
		}
		if err != nil {
			return &RuleError{Index: i, Rule: r, Err: err}
		}
	}
	cats := c.categories()
	for name, id := range c.Identifiers {
		if i := sort.SearchStrings(cats, name); i == len(cats) || cats[i] != name {
			return fmt.Errorf("identifiers.%s: no rule reads this identifier (rules read %s)", name, strings.Join(cats, ", "))
		}
		if id.BlockedPattern != "" {
			if _, err := regexp.Compile(id.BlockedPattern); err != nil {
				return fmt.Errorf("identifiers.%s.blocked_pattern: %w", name, err)
			}
		}
		if id.MaxPerEntity < 0 {
			return fmt.Errorf("identifiers.%s.max_per_entity must be 0 (no limit) or more", name)
		}
		if id.Priority < 0 {
			return fmt.Errorf("identifiers.%s.priority must be 1 or more (1 is decided first), or 0 for after every category with one", name)
		}
	}
	return nil
}

// categories lists the categories of the rules, sorted.
func (c *Config) categories() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range c.Rules {
		if !seen[r.Identifier] {
			seen[r.Identifier] = true
			out = append(out, r.Identifier)
		}
	}
	sort.Strings(out)
	return out
}
