package trackplan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/weftdata/weft/internal/store"
)

// Config is the tracking_plan section of weft.yaml. New keys may be added;
// none is ever renamed.
type Config struct {
	// Modes are the checks per source id: reject, flag or off. Sources not
	// listed are off.
	Modes map[string]Mode `json:"modes,omitempty" yaml:"modes,omitempty"`
	// Events are the schemas, at most one per event type.
	Events []Event `json:"events,omitempty" yaml:"events,omitempty"`
}

// Mode is what a source's events that fail their schema become.
type Mode string

// The modes.
const (
	// ModeReject refuses the event: a per-record rejection of its batch.
	ModeReject Mode = "reject"
	// ModeFlag stores the event and records the violation.
	ModeFlag Mode = "flag"
	// ModeOff checks nothing.
	ModeOff Mode = "off"
)

// Event is the schema of an event type.
type Event struct {
	// Event names the type as stitching rules and segments do:
	// source/type (every version) or source/type/version.
	Event string `json:"event" yaml:"event"`
	// Schema is a JSON Schema (draft 2020-12 unless $schema says
	// otherwise) the payload must match. Only references inside it
	// ("#/$defs/...") resolve.
	Schema any `json:"schema" yaml:"schema"`
}

// Bounds of a plan: a schema is configuration, not data.
const (
	// SchemaMaxBytes bounds one schema, as JSON.
	SchemaMaxBytes = 64 << 10
	// EventsMax bounds the entries of a plan.
	EventsMax = 1000
)

var (
	sourcePattern = regexp.MustCompile(`^[^\s'"\\/]+$`)
	partPattern   = regexp.MustCompile(`^[^\s/]+$`)
)

// Validate compiles the plan, returning the first problem with its place
// (tracking_plan.events[shop/purchase].schema: ...).
func Validate(c Config) error {
	_, err := Compile(c)
	return err
}

// Plan is a compiled Config.
type Plan struct {
	modes map[string]Mode // reject and flag only
	// schemas by event type; a Version "" entry holds for every version.
	schemas map[store.EventTypeKey]*jsonschema.Schema
	// declared are the property names the schemas name: the others are
	// masked in the instance paths of examples, since a payload's own
	// keys may be personal data.
	declared map[string]bool
}

// Compile checks and compiles c; a nil Plan and nil error mean nothing is
// checked.
func Compile(c Config) (*Plan, error) {
	p := &Plan{modes: map[string]Mode{}, schemas: map[store.EventTypeKey]*jsonschema.Schema{}, declared: map[string]bool{}}
	sources := make([]string, 0, len(c.Modes))
	for s := range c.Modes {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, s := range sources {
		m := c.Modes[s]
		if !sourcePattern.MatchString(s) {
			return nil, fmt.Errorf("tracking_plan.modes: %q is not a source id", s)
		}
		switch m {
		case ModeReject, ModeFlag:
			p.modes[s] = m
		case ModeOff:
		default:
			return nil, fmt.Errorf("tracking_plan.modes.%s: mode %q must be reject, flag or off", s, m)
		}
	}
	if len(c.Events) > EventsMax {
		return nil, fmt.Errorf("tracking_plan.events: %d entries, at most %d", len(c.Events), EventsMax)
	}
	for i, e := range c.Events {
		key, err := parseEvent(e.Event)
		if err != nil {
			return nil, fmt.Errorf("tracking_plan.events[%d].event: %w", i, err)
		}
		place := fmt.Sprintf("tracking_plan.events[%s]", e.Event)
		if _, dup := p.schemas[key]; dup {
			return nil, fmt.Errorf("%s: the event type has a schema already", place)
		}
		sch, err := compileSchema(e.Schema, p.declared)
		if err != nil {
			return nil, fmt.Errorf("%s.schema: %w", place, err)
		}
		p.schemas[key] = sch
	}
	if len(p.modes) == 0 || len(p.schemas) == 0 {
		return nil, nil
	}
	return p, nil
}

// parseEvent reads source/type[/version].
func parseEvent(s string) (store.EventTypeKey, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || !sourcePattern.MatchString(parts[0]) {
		return store.EventTypeKey{}, fmt.Errorf("%q must be source/type or source/type/version", s)
	}
	for _, part := range parts[1:] {
		if !partPattern.MatchString(part) {
			return store.EventTypeKey{}, fmt.Errorf("%q must be source/type or source/type/version", s)
		}
	}
	k := store.EventTypeKey{SourceID: parts[0], Type: parts[1]}
	if len(parts) == 3 {
		k.Version = parts[2]
	}
	return k, nil
}

// schemaURL is where a schema sits while compiled: a name no loader
// knows, so a relative reference resolves to another unknown name.
const (
	schemaBase = "weft-tracking-plan:///"
	schemaURL  = schemaBase + "schema.json"
)

// errNoLoad refuses every reference outside the schema.
var errNoLoad = errors.New("weft loads no schema from files or the network: only references inside the schema itself (#/$defs/...) are allowed")

// noLoader is the compiler's URLLoader: it loads nothing.
type noLoader struct{}

func (noLoader) Load(string) (any, error) { return nil, errNoLoad }

// compileSchema compiles one schema and adds the property names it
// declares to declared.
func compileSchema(schema any, declared map[string]bool) (*jsonschema.Schema, error) {
	if schema == nil {
		return nil, errors.New("a schema is required")
	}
	raw, err := json.Marshal(schema)
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if len(raw) > SchemaMaxBytes {
		return nil, fmt.Errorf("%d bytes, at most %d", len(raw), SchemaMaxBytes)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, schemaError(err)
	}
	collectNames(doc, declared)
	return sch, nil
}

// schemaError says what is wrong with a schema in terms of the schema
// itself, without the compiler's internal URL.
func schemaError(err error) error {
	var load *jsonschema.LoadURLError
	if errors.As(err, &load) {
		return fmt.Errorf("$ref %q: %w", strings.TrimPrefix(load.URL, schemaBase), errNoLoad)
	}
	var invalid *jsonschema.SchemaValidationError
	if errors.As(err, &invalid) {
		verr, ok := invalid.Err.(*jsonschema.ValidationError)
		if !ok {
			return errors.New(strings.ReplaceAll(invalid.Err.Error(), schemaURL, ""))
		}
		var msgs []string
		for _, leaf := range innermost(verr, nil) {
			msgs = append(msgs, leaf.Error())
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return errors.New(strings.ReplaceAll(err.Error(), schemaURL, ""))
}

// innermost are the errors without causes under e.
func innermost(e *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return append(out, e)
	}
	for _, c := range e.Causes {
		out = innermost(c, out)
	}
	return out
}

// collectNames adds the keys of every properties object and the names of
// every required list in doc to names.
func collectNames(doc any, names map[string]bool) {
	switch v := doc.(type) {
	case map[string]any:
		if props, ok := v["properties"].(map[string]any); ok {
			for k := range props {
				names[k] = true
			}
		}
		if req, ok := v["required"].([]any); ok {
			for _, r := range req {
				if s, ok := r.(string); ok {
					names[s] = true
				}
			}
		}
		for _, sub := range v {
			collectNames(sub, names)
		}
	case []any:
		for _, sub := range v {
			collectNames(sub, names)
		}
	}
}
