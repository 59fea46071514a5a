package object

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/weftdata/weft/internal/store"
)

// Field types.
const (
	FieldString    = "string"
	FieldNumber    = "number"
	FieldTimestamp = "timestamp"
	FieldBoolean   = "boolean"
)

var fieldTypes = []string{FieldString, FieldNumber, FieldTimestamp, FieldBoolean}

// FieldsMax bounds the fields of one type (PostgreSQL allows 1600
// columns; every upserted row binds one parameter per field).
const FieldsMax = 1000

// Type is one entry of weft.yaml's objects list: an object type and the
// table that holds its records (objects.<name>).
type Type struct {
	// Name names the type, its table, its GraphQL query field and its
	// URL (/v1/objects/<name>); ^[a-z][a-z0-9_]{1,61}$.
	Name string `json:"name" yaml:"name"`
	// DisplayName and Description document the type (GraphQL
	// descriptions); optional.
	DisplayName string  `json:"display_name,omitempty" yaml:"display_name,omitempty"`
	Description string  `json:"description,omitempty" yaml:"description,omitempty"`
	Fields      []Field `json:"fields" yaml:"fields"`
}

// Field is a field of a Type and a column of its table.
type Field struct {
	// Name has the same form as a type's name.
	Name string `json:"name" yaml:"name"`
	// Type is string, number, timestamp or boolean.
	Type string `json:"type" yaml:"type"`
	// Primary fields, one or more per type and all of type string, make
	// up the primary key that upserts match on.
	Primary     bool   `json:"primary,omitempty" yaml:"primary,omitempty"`
	DisplayName string `json:"display_name,omitempty" yaml:"display_name,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Customer, on a string field, names an identifier category (a
	// category of the stitching rules): the field's values are customers'
	// identifiers, and GraphQL resolves each to its customer in the field
	// <name>_customer beside it.
	Customer string `json:"customer,omitempty" yaml:"customer,omitempty"`
}

// CustomerSuffix ends the name of the GraphQL field that resolves a field
// referencing customers (Field.Customer).
const CustomerSuffix = "_customer"

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,61}$`)

// reservedPrimary are names a primary field cannot have: they are the
// paging parameters of GET /v1/objects/{type} and of the GraphQL query
// field, where primary fields are filters too.
var reservedPrimary = []string{"first", "after"}

// DefinitionError is a declared type that cannot be used. Type and Field
// are positions in the objects list and the type's fields (Field -1: the
// type as a whole); Name is the name of what is at fault.
type DefinitionError struct {
	Type  int
	Field int
	Name  string
	Err   error
}

func (e *DefinitionError) Error() string {
	where := fmt.Sprintf("objects[%d]", e.Type)
	if e.Field >= 0 {
		where += fmt.Sprintf(".fields[%d]", e.Field)
	}
	if e.Name != "" {
		where += " (" + e.Name + ")"
	}
	return where + ": " + e.Err.Error()
}

func (e *DefinitionError) Unwrap() error { return e.Err }

// Validate checks declared types without the database.
func Validate(types []Type) error {
	seen := map[string]bool{}
	for i := range types {
		t := &types[i]
		fail := func(format string, args ...any) error {
			return &DefinitionError{Type: i, Field: -1, Name: t.Name, Err: fmt.Errorf(format, args...)}
		}
		switch {
		case !namePattern.MatchString(t.Name):
			return fail("name %q must be 2 to 62 lower case letters, digits and _, starting with a letter", t.Name)
		case seen[t.Name]:
			return fail("type %q is declared twice", t.Name)
		case len(t.Fields) == 0:
			return fail("has no fields")
		case len(t.Fields) > FieldsMax:
			return fail("has %d fields, more than the %d allowed", len(t.Fields), FieldsMax)
		}
		seen[t.Name] = true
		if err := t.validateFields(i); err != nil {
			return err
		}
		if len(t.primary()) == 0 {
			return fail("has no primary field: mark one or more string fields primary: true (they make up the key that upserts match on)")
		}
	}
	return nil
}

func (t *Type) validateFields(i int) error {
	names := map[string]bool{}
	for j, f := range t.Fields {
		fail := func(format string, args ...any) error {
			return &DefinitionError{Type: i, Field: j, Name: f.Name, Err: fmt.Errorf(format, args...)}
		}
		switch {
		case !namePattern.MatchString(f.Name):
			return fail("name %q must be 2 to 62 lower case letters, digits and _, starting with a letter", f.Name)
		case names[f.Name]:
			return fail("field %q is declared twice", f.Name)
		case f.Type == "vector":
			return fail("type vector is not supported (use string, number, timestamp or boolean)")
		case !slices.Contains(fieldTypes, f.Type):
			return fail("type %q is not one of %s", f.Type, strings.Join(fieldTypes, ", "))
		case f.Primary && f.Type != FieldString:
			return fail("a primary field must be of type string, not %s", f.Type)
		case f.Primary && slices.Contains(reservedPrimary, f.Name):
			return fail("a primary field cannot be named %q: primary fields are filter parameters beside the paging parameters %s", f.Name, strings.Join(reservedPrimary, " and "))
		case f.Customer != "" && f.Type != FieldString:
			return fail("a field referencing customers (customer: %s) must be of type string, not %s", f.Customer, f.Type)
		}
		names[f.Name] = true
	}
	for j, f := range t.Fields {
		if ref := f.Name + CustomerSuffix; f.Customer != "" && names[ref] {
			return &DefinitionError{Type: i, Field: j, Name: f.Name, Err: fmt.Errorf(
				"references customers, and GraphQL resolves it in a field %q, which is also the name of a declared field: rename one of them", ref)}
		}
	}
	return nil
}

// ValidateReferences checks that the fields referencing customers name
// one of categories, the identifier categories of the stitching rules.
func ValidateReferences(types []Type, categories []string) error {
	for i, t := range types {
		for j, f := range t.Fields {
			if f.Customer == "" || slices.Contains(categories, f.Customer) {
				continue
			}
			known := "no stitching rule reads any"
			if len(categories) > 0 {
				known = "the stitching rules read " + strings.Join(categories, ", ")
			}
			return &DefinitionError{Type: i, Field: j, Name: f.Name, Err: fmt.Errorf(
				"customer %q is not an identifier category (%s)", f.Customer, known)}
		}
	}
	return nil
}

// primary lists the positions of the primary fields.
func (t *Type) primary() []int {
	var out []int
	for j, f := range t.Fields {
		if f.Primary {
			out = append(out, j)
		}
	}
	return out
}

// Schema is a validated set of types, looked up by name.
type Schema struct {
	types  []Type
	byName map[string]*table
	gql    *graphQLSchema // built on first use; see graphql.go
}

// table is a type with its lookups.
type table struct {
	*Type
	index   map[string]int // field position by name
	primary []int
}

// NewSchema validates types and indexes them.
func NewSchema(types []Type) (*Schema, error) {
	if err := Validate(types); err != nil {
		return nil, err
	}
	s := &Schema{types: types, byName: make(map[string]*table, len(types)), gql: &graphQLSchema{}}
	for i := range types {
		t := &table{Type: &types[i], index: map[string]int{}, primary: types[i].primary()}
		for j, f := range t.Fields {
			t.index[f.Name] = j
		}
		s.byName[t.Name] = t
	}
	return s, nil
}

// Types returns the declared types in declaration order.
func (s *Schema) Types() []Type { return s.types }

// TypeNotFoundError is a type that is not declared. It matches
// store.ErrNotFound, so that the API answers it as a 404.
type TypeNotFoundError struct {
	Name     string
	Declared []string
}

func (e *TypeNotFoundError) Error() string {
	if len(e.Declared) == 0 {
		return fmt.Sprintf("unknown object type %q: no object types are declared (objects: in weft.yaml)", e.Name)
	}
	return fmt.Sprintf("unknown object type %q (declared: %s)", e.Name, strings.Join(e.Declared, ", "))
}

func (e *TypeNotFoundError) Is(target error) bool { return target == store.ErrNotFound }

// Type returns a declared type, or a *TypeNotFoundError.
func (s *Schema) Type(name string) (*Type, error) {
	t, err := s.table(name)
	if err != nil {
		return nil, err
	}
	return t.Type, nil
}

func (s *Schema) table(name string) (*table, error) {
	if t, ok := s.byName[name]; ok {
		return t, nil
	}
	declared := make([]string, 0, len(s.byName))
	for n := range s.byName {
		declared = append(declared, n)
	}
	sort.Strings(declared)
	return nil, &TypeNotFoundError{Name: name, Declared: declared}
}
