package consent

import (
	"slices"
	"strconv"
)

// Purposes that Weft's own stages declare; any other name (lower case
// letters, digits and _) is a purpose too.
const (
	// Personalization is ranking with what Weft knows of the customer
	// (delivery's personal rules).
	Personalization = "personalization"
	// Marketing is processing for campaigns and segments sent outside.
	Marketing = "marketing"
	// Analytics is processing to measure and model customers (the default
	// purpose of plugins).
	Analytics = "analytics"
)

// Values of Purpose.Missing.
const (
	MissingDenied  = "denied"
	MissingGranted = "granted"
)

// Config is weft.yaml's consent section: per purpose, where its consent
// is held.
type Config map[string]Purpose

// Purpose says where one purpose's consent is held.
type Purpose struct {
	// Attribute is the id of a single-valued bool attribute: a value that
	// reads as true is consent given, any other is not.
	Attribute string `json:"attribute" yaml:"attribute"`
	// Missing says whether a profile without a value of the attribute
	// has the purpose (default denied): denied, consent being opt-in, or
	// granted, for a legal basis other than consent (a value that is not
	// true then withdraws it).
	Missing string `json:"missing,omitempty" yaml:"missing,omitempty"`
}

// Filter is the consent a stage applies for one purpose.
type Filter struct {
	Purpose   string `json:"purpose"`
	Attribute string `json:"attribute"`
	// MissingGranted says a profile without a value has the purpose.
	MissingGranted bool `json:"missing_granted,omitempty"`
}

// Filter returns the filter of a purpose, or nil when the section does
// not name it: every profile has a purpose not named.
func (c Config) Filter(purpose string) *Filter {
	p, ok := c[purpose]
	if !ok {
		return nil
	}
	return &Filter{Purpose: purpose, Attribute: p.Attribute, MissingGranted: p.Missing == MissingGranted}
}

// Purposes are the purposes the section names, sorted.
func (c Config) Purposes() []string {
	out := make([]string, 0, len(c))
	for p := range c {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// In returns the SQL condition that column (an entity id) has the
// filter's purpose, its placeholders numbered from $first, and their
// arguments. A nil filter holds for every entity: "TRUE" and none.
// Entities that are not live (merged into others) never have it.
func (f *Filter) In(column string, first int) (string, []any) {
	if f == nil {
		return "TRUE", nil
	}
	return column + " IN (SELECT entity_id FROM weft_consenting($" + strconv.Itoa(first) +
		", CAST($" + strconv.Itoa(first+1) + " AS BOOLEAN)))", f.Args()
}

// Args are the arguments of weft_consenting(attribute, missing_granted)
// for the filter.
func (f *Filter) Args() []any { return []any{f.Attribute, f.MissingGranted} }
