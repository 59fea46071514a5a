package attr

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/weftdata/weft/internal/sqlrewrite"
)

// Types of calculation.
const (
	TypeAvg           = "avg"
	TypeFirst         = "first"
	TypeLast          = "last"
	TypeLeastFrequent = "least_frequent"
	TypeList          = "list"
	TypeMax           = "max"
	TypeMin           = "min"
	TypeMostFrequent  = "most_frequent"
	TypeNumOfUnique   = "num_of_unique"
	TypeSum           = "sum"
	TypeValue         = "value"
	TypeCustom        = "custom"
)

var types = []string{TypeAvg, TypeFirst, TypeLast, TypeLeastFrequent, TypeList, TypeMax, TypeMin,
	TypeMostFrequent, TypeNumOfUnique, TypeSum, TypeValue, TypeCustom}

// Data types decide how values are cast and compared.
const (
	DataString   = "string"
	DataInt      = "int"
	DataFloat    = "float"
	DataBool     = "bool"
	DataDate     = "date"
	DataDatetime = "datetime"
)

var dataTypes = []string{DataString, DataInt, DataFloat, DataBool, DataDate, DataDatetime}

// Definition is one attribute of weft.yaml's attributes list.
type Definition struct {
	// ID names the attribute and its column: [a-z][a-z0-9_]*.
	ID string `json:"id" yaml:"id"`
	// Type is the calculation: avg, first, last, least_frequent, list,
	// max, min, most_frequent, num_of_unique, sum, value or custom.
	Type string `json:"type" yaml:"type"`
	// DataType is string, int, float, bool, date or datetime. Default:
	// float for sum and avg, int for num_of_unique, string otherwise.
	DataType string `json:"data_type,omitempty" yaml:"data_type,omitempty"`
	// Value is SQL over an event row; it may be set-returning.
	Value string `json:"value,omitempty" yaml:"value,omitempty"`
	// OuterValue is SQL over a row of the first level, which has value,
	// weight and the event's columns. Default "value".
	OuterValue string `json:"outer_value,omitempty" yaml:"outer_value,omitempty"`
	// Weight and OuterWeight weigh values for most_frequent and
	// least_frequent; a value's weight is their product. Default 1 each.
	Weight      string `json:"weight,omitempty" yaml:"weight,omitempty"`
	OuterWeight string `json:"outer_weight,omitempty" yaml:"outer_weight,omitempty"`
	// Filter and OuterFilter are SQL conditions on the two levels.
	Filter      string `json:"filter,omitempty" yaml:"filter,omitempty"`
	OuterFilter string `json:"outer_filter,omitempty" yaml:"outer_filter,omitempty"`
	// Sources, Types and Versions restrict the events read (empty: all).
	Sources  []string `json:"sources,omitempty" yaml:"sources,omitempty"`
	Types    []string `json:"types,omitempty" yaml:"types,omitempty"`
	Versions []string `json:"versions,omitempty" yaml:"versions,omitempty"`
	// Query is the SELECT of a custom attribute over base (the entity's
	// events: id, source_id, type, version, event_time, payload); it
	// returns one column named value and 0 to N rows.
	Query string `json:"query,omitempty" yaml:"query,omitempty"`
	// Enabled switches calculation off when false (default true); the
	// attribute's values are removed then.
	Enabled *bool `json:"enabled,omitempty" yaml:"enabled,omitempty"`
}

// Context is a query over the whole customer base whose one value
// definitions read as (SELECT value FROM context WHERE key = '...').
type Context struct {
	// Key names the value in the context table.
	Key string `json:"key" yaml:"key"`
	// Query is SQL over the whole customer base returning one value.
	Query string `json:"query" yaml:"query"`
}

// IsEnabled reports whether the attribute is calculated.
func (d *Definition) IsEnabled() bool { return d.Enabled == nil || *d.Enabled }

// Multiple reports whether the attribute may hold several values.
func (d *Definition) Multiple() bool { return d.Type == TypeList || d.Type == TypeCustom }

// SingleValued reports whether the attribute yields at most one value per
// customer: every type but list and custom, and a custom attribute whose
// query is one aggregate over base (SELECT <aggregate> AS value FROM base
// [WHERE ...], as the grouped statement takes it, with no set-returning
// call), which SQL answers with exactly one row. Plugin datasets send
// such values as scalars; other custom attributes stay arrays.
func (d *Definition) SingleValued() bool {
	if d.Type != TypeCustom {
		return !d.Multiple()
	}
	return sqlrewrite.SingleRow(d.Query)
}

// ResultType is the data type with its default.
func (d *Definition) ResultType() string { return d.dataType() }

// dataType returns the data type with its default.
func (d *Definition) dataType() string {
	switch {
	case d.DataType != "":
		return d.DataType
	case d.Type == TypeSum || d.Type == TypeAvg:
		return DataFloat
	case d.Type == TypeNumOfUnique:
		return DataInt
	}
	return DataString
}

// valueType is the type values are cast to and compared as before the
// calculation: the data type, except that num_of_unique counts values of
// any kind as text.
func (d *Definition) valueType() string {
	if d.Type == TypeNumOfUnique {
		return DataString
	}
	return d.dataType()
}

// DefinitionError names the attribute and field at fault.
type DefinitionError struct {
	ID    string // or context key
	Field string
	Err   error
	ctx   bool
}

func (e *DefinitionError) Error() string {
	what := "attributes[" + e.ID + "]"
	if e.ctx {
		what = "context[" + e.ID + "]"
	}
	if e.Field != "" {
		what += "." + e.Field
	}
	return what + ": " + e.Err.Error()
}

func (e *DefinitionError) Unwrap() error { return e.Err }

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Validate checks definitions and contexts without the database.
func Validate(defs []Definition, contexts []Context) error {
	seen := map[string]bool{}
	for i := range defs {
		d := &defs[i]
		if !idPattern.MatchString(d.ID) {
			return &DefinitionError{ID: fmt.Sprint(i), Field: "id", Err: fmt.Errorf("%q must be lower case letters, digits and _, starting with a letter (it becomes a column name)", d.ID)}
		}
		if seen[d.ID] {
			return &DefinitionError{ID: d.ID, Field: "id", Err: errors.New("defined twice")}
		}
		seen[d.ID] = true
		if err := d.validate(); err != nil {
			return err
		}
	}
	keys := map[string]bool{}
	for _, c := range contexts {
		switch {
		case !idPattern.MatchString(c.Key):
			return &DefinitionError{ID: c.Key, Field: "key", ctx: true, Err: errors.New("must be lower case letters, digits and _, starting with a letter")}
		case keys[c.Key]:
			return &DefinitionError{ID: c.Key, Field: "key", ctx: true, Err: errors.New("defined twice")}
		case strings.TrimSpace(c.Query) == "":
			return &DefinitionError{ID: c.Key, Field: "query", ctx: true, Err: errors.New("is empty")}
		case strings.Contains(c.Query, ";"):
			return &DefinitionError{ID: c.Key, Field: "query", ctx: true, Err: errors.New("must be one statement, without ';'")}
		}
		keys[c.Key] = true
	}
	return nil
}

func (d *Definition) validate() error {
	fail := func(field, format string, args ...any) error {
		return &DefinitionError{ID: d.ID, Field: field, Err: fmt.Errorf(format, args...)}
	}
	if !slices.Contains(types, d.Type) {
		return fail("type", "%q is not one of %s", d.Type, strings.Join(types, ", "))
	}
	if d.DataType != "" && !slices.Contains(dataTypes, d.DataType) {
		return fail("data_type", "%q is not one of %s", d.DataType, strings.Join(dataTypes, ", "))
	}
	dt := d.dataType()
	switch d.Type {
	case TypeSum, TypeAvg:
		if dt != DataInt && dt != DataFloat {
			return fail("data_type", "%s needs a number: int or float, not %s", d.Type, dt)
		}
	case TypeNumOfUnique:
		if dt != DataInt {
			return fail("data_type", "num_of_unique counts: its data_type is int")
		}
	}
	sqlFields := map[string]string{"value": d.Value, "outer_value": d.OuterValue, "weight": d.Weight,
		"outer_weight": d.OuterWeight, "filter": d.Filter, "outer_filter": d.OuterFilter, "query": d.Query}
	names := make([]string, 0, len(sqlFields))
	for name := range sqlFields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.Contains(sqlFields[name], ";") {
			return fail(name, "must be one expression, without ';'")
		}
	}
	if d.Type == TypeCustom {
		if strings.TrimSpace(d.Query) == "" {
			return fail("query", "a custom attribute needs a query returning one column named value")
		}
		for _, name := range names {
			if name != "query" && sqlFields[name] != "" {
				return fail(name, "a custom attribute has only a query")
			}
		}
		if len(d.Sources)+len(d.Types)+len(d.Versions) > 0 {
			return fail("sources", "a custom attribute reads base as it is: filter inside the query")
		}
		return nil
	}
	if d.Query != "" {
		return fail("query", "only custom attributes have a query")
	}
	if strings.TrimSpace(d.Value) == "" {
		return fail("value", "is required: SQL over the event row, such as payload->>'email'")
	}
	for field, list := range map[string][]string{"sources": d.Sources, "types": d.Types, "versions": d.Versions} {
		for _, s := range list {
			if s == "" || strings.ContainsAny(s, "'\\") {
				return fail(field, "%q is empty or has a quote or backslash", s)
			}
		}
	}
	return nil
}
