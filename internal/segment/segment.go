package segment

// Definition is one segment of weft.yaml.
type Definition struct {
	// ID names the segment in the API, in rules and in other segments:
	// ^[a-z][a-z0-9_]*$.
	ID string `json:"id" yaml:"id"`
	// Name is the segment's name for people.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Description says what the segment is for.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Condition says who is a member.
	Condition Condition `json:"condition" yaml:"condition"`
}

// Condition is a node of a condition tree: exactly one of the groups (All,
// Any, Not) or of the leaves (Attribute, Property, Event, Identifier,
// Segment) is set.
type Condition struct {
	// All is true when every condition in it is.
	All []Condition `json:"all,omitempty" yaml:"all,omitempty"`
	// Any is true when one condition in it is.
	Any []Condition `json:"any,omitempty" yaml:"any,omitempty"`
	// Not is true when its condition is not.
	Not *Condition `json:"not,omitempty" yaml:"not,omitempty"`

	// Attribute compares the value of an attribute with Op and Value.
	Attribute string `json:"attribute,omitempty" yaml:"attribute,omitempty"`
	// Property compares a plugin property (an exact property id, or
	// <plugin>/<name> for the latest run) with Op and Value.
	Property string `json:"property,omitempty" yaml:"property,omitempty"`
	// Op is the comparison: =, !=, <, <=, >, >=, in, contains, is_set,
	// is_not_set, between.
	Op string `json:"op,omitempty" yaml:"op,omitempty"`
	// Value is compared with: a list for in and between; a relative date
	// (-30d) or an absolute one for dates.
	Value any `json:"value,omitempty" yaml:"value,omitempty"`

	// Event counts (or sums a payload field of) the events of
	// source/type[/version] in a window.
	Event string `json:"event,omitempty" yaml:"event,omitempty"`
	// Last is the window up to now (30d, 12h, 8w).
	Last string `json:"last,omitempty" yaml:"last,omitempty"`
	// Between is the window between two dates.
	Between []string `json:"between,omitempty" yaml:"between,omitempty"`
	// Where is a SQL condition on the event's payload.
	Where string `json:"where,omitempty" yaml:"where,omitempty"`
	// Sum compares the sum of a payload field with a number.
	Sum *Comparison `json:"sum,omitempty" yaml:"sum,omitempty"`
	// Count compares the number of events with a number.
	Count *Count `json:"count,omitempty" yaml:"count,omitempty"`

	// Identifier is true for entities with an identifier of the category.
	Identifier string `json:"identifier,omitempty" yaml:"identifier,omitempty"`
	// Segment is true for the members of another segment.
	Segment string `json:"segment,omitempty" yaml:"segment,omitempty"`
}

// Comparison compares the sum of an expression over events with a number.
type Comparison struct {
	// Field is the SQL expression summed.
	Field string `json:"field,omitempty" yaml:"field,omitempty"`
	// Op is =, !=, <, <=, >, >= or between.
	Op string `json:"op" yaml:"op"`
	// Value is the number (two for between).
	Value any `json:"value" yaml:"value"`
}

// Count compares a number of events with a number.
type Count struct {
	// Op is =, !=, <, <=, >, >= or between.
	Op string `json:"op" yaml:"op"`
	// Value is the number (two for between).
	Value any `json:"value" yaml:"value"`
}
