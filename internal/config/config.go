package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/consent"
	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/internal/object"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/quartz"
	"github.com/weftdata/weft/internal/rank"
	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/trackplan"
)

// Config is weft.yaml.
type Config struct {
	Stitching stitch.Config `json:"stitching" yaml:"stitching"`
	// Attributes are calculated for every entity (package attr).
	Attributes []attr.Definition `json:"attributes,omitempty" yaml:"attributes,omitempty"`
	// Context are queries over the whole customer base that attribute
	// definitions read from the context table.
	Context []attr.Context `json:"context,omitempty" yaml:"context,omitempty"`
	// Jobs are scheduled or triggerable jobs by name (package jobrunner).
	Jobs map[string]Job `json:"jobs,omitempty" yaml:"jobs,omitempty"`
	// Objects are the custom object types (package object): each gets a
	// table objects.<name>, POST/GET /v1/objects/<name> and a GraphQL
	// query field.
	Objects []object.Type `json:"objects,omitempty" yaml:"objects,omitempty"`
	// Plugins are external plugin programs (package plugin); each runs
	// as the job plugin:<name>.
	Plugins []plugin.Definition `json:"plugins,omitempty" yaml:"plugins,omitempty"`
	// Delivery configures the Delivery and Metrics APIs and how they rank.
	Delivery rank.Delivery `json:"delivery,omitzero" yaml:"delivery,omitempty"`
	// Consent names, per purpose (personalization, marketing, analytics,
	// or another), the bool attribute that holds the customer's consent;
	// stages processing profiles for a purpose leave out those without it
	// (package consent).
	Consent consent.Config `json:"consent,omitempty" yaml:"consent,omitempty"`
	// Retention deletes each source's events older than a period, daily
	// (the built-in job retention).
	Retention []Retention `json:"retention,omitempty" yaml:"retention,omitempty"`
	// Segments are audiences over profiles (package segment), computed by
	// the segments job.
	Segments []segment.Definition `json:"segments,omitempty" yaml:"segments,omitempty"`
	// Destinations carry segment changes and profiles to other systems
	// (package destination); each runs as the job destination:<id>.
	Destinations []destination.Definition `json:"destinations,omitempty" yaml:"destinations,omitempty"`
	// TrackingPlan checks events at ingest against a JSON Schema per
	// event type, in a mode per source (package trackplan).
	TrackingPlan trackplan.Config `json:"tracking_plan,omitzero" yaml:"tracking_plan,omitempty"`
}

// Job declares a job: which registered job runs it, when, and with what
// parameters.
type Job struct {
	// Job is the registered job that runs (blob_import, stitching, ...);
	// empty means the declared name is one.
	Job string `json:"job,omitempty" yaml:"job,omitempty"`
	// Description says what the job is for, for readers of weft.yaml.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Cron is a Quartz expression in UTC ("0 0 6 * * ?"); empty means the
	// job runs only when triggered.
	Cron string `json:"cron,omitempty" yaml:"cron,omitempty"`
	// Parameters are the run's defaults; a trigger's parameters override.
	Parameters map[string]any `json:"parameters,omitempty" yaml:"parameters,omitempty"`
	// Enabled (default true) turns the schedule off without deleting it.
	Enabled *bool `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	// PerformTimeout is the longest one Perform may run ("90s", "5m"), or
	// "none"; empty takes the job's own or the server's default (60 s).
	PerformTimeout string `json:"perform_timeout,omitempty" yaml:"perform_timeout,omitempty"`
}

// PerformDeadline is PerformTimeout as a duration: 0 when unset, -1 for
// "none" (and for a value Validate refuses).
func (j Job) PerformDeadline() time.Duration {
	if j.PerformTimeout == "" {
		return 0
	}
	d, err := time.ParseDuration(j.PerformTimeout)
	if err != nil || d <= 0 {
		return -1
	}
	return d
}

// Kind is the registered job that runs a declared one.
func (j Job) Kind(name string) string {
	if j.Job != "" {
		return j.Job
	}
	return name
}

// IsEnabled says whether the schedule fires.
func (j Job) IsEnabled() bool { return j.Enabled == nil || *j.Enabled }

var jobName = regexp.MustCompile(`^[a-z][a-z0-9_]{1,61}$`)

// normalizeParameters gives job parameters the types JSON gives them
// (numbers are float64, maps map[string]any), as stored and as triggered.
func (c *Config) normalizeParameters() error {
	for name, j := range c.Jobs {
		if j.Parameters == nil {
			continue
		}
		b, err := json.Marshal(j.Parameters)
		if err != nil {
			return &Error{Field: "jobs." + name + ".parameters", Err: err}
		}
		j.Parameters = nil
		if err := json.Unmarshal(b, &j.Parameters); err != nil {
			return &Error{Field: "jobs." + name + ".parameters", Err: err}
		}
		c.Jobs[name] = j
	}
	return nil
}

func validateJobs(jobs map[string]Job) error {
	names := make([]string, 0, len(jobs))
	for name := range jobs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		j := jobs[name]
		if !jobName.MatchString(name) {
			return &Error{Field: "jobs." + name, Err: fmt.Errorf("job names must match %s", jobName)}
		}
		if j.Cron != "" {
			if _, err := quartz.Parse(j.Cron); err != nil {
				return &Error{Field: "jobs." + name + ".cron", Err: err}
			}
		}
		if t := j.PerformTimeout; t != "" && t != "none" {
			if d, err := time.ParseDuration(t); err != nil || d <= 0 {
				return &Error{Field: "jobs." + name + ".perform_timeout", Err: fmt.Errorf("%q must be a positive duration, as 90s or 5m, or none", t)}
			}
		}
	}
	return nil
}

// Error is a document that cannot be used; Field says where, when known.
type Error struct {
	Field string
	Err   error
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Err.Error()
	}
	return e.Field + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Parse reads a YAML or JSON document and validates it.
func Parse(data []byte) (*Config, error) {
	var c Config
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{Err: errors.New("the document is empty")}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, &Error{Err: fmt.Errorf("not a valid weft.yaml: %s", strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, &Error{Err: errors.New("more than one document; send one")}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := c.normalizeParameters(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks everything that needs no database.
func (c *Config) Validate() error {
	if err := c.Stitching.Validate(); err != nil && !unknownIdentifier(err) {
		return StitchingError(err)
	}
	// The derived rules read the delivery identifiers, which must be
	// valid first; then identifiers may name the categories they read.
	if err := validateIdentifiers(&c.Delivery); err != nil {
		return err
	}
	st := c.EffectiveStitching()
	if err := st.Validate(); err != nil {
		return StitchingError(err)
	}
	if err := checkDuplicateRules(st.Rules, len(c.Stitching.Rules)); err != nil {
		return err
	}
	if err := attr.Validate(c.Attributes, c.Context); err != nil {
		return &Error{Err: err}
	}
	if err := object.Validate(c.Objects); err != nil {
		return &Error{Err: err}
	}
	if err := object.ValidateReferences(c.Objects, c.IdentifierCategories()); err != nil {
		return &Error{Err: err}
	}
	if err := validateJobs(c.Jobs); err != nil {
		return err
	}
	if err := validateConsent(c.Consent, c.Attributes); err != nil {
		return err
	}
	if err := validatePlugins(c.Plugins, c.Attributes, c.Consent); err != nil {
		return err
	}
	if err := validateRetention(c.Retention); err != nil {
		return err
	}
	if err := c.validateSegments(); err != nil {
		return err
	}
	if err := validateDestinations(c); err != nil {
		return err
	}
	if err := trackplan.Validate(c.TrackingPlan); err != nil {
		return &Error{Err: err}
	}
	attrs := make(map[string]bool, len(c.Attributes))
	for _, a := range c.Attributes {
		attrs[a.ID] = true
	}
	return validateDelivery(&c.Delivery, attrs, c.Segments)
}

// unknownIdentifier is the one stitching error the derived rules may cure:
// identifiers naming a category only delivery events carry.
func unknownIdentifier(err error) bool {
	return strings.Contains(err.Error(), "no rule reads this identifier")
}

// StitchingError places an error of the stitching section: rule errors
// name their rule (stitching.rules[i]) already; the others name a path
// under identifiers, which gets the section's name in front.
func StitchingError(err error) *Error {
	var ruleErr *stitch.RuleError
	if errors.As(err, &ruleErr) {
		return &Error{Err: err}
	}
	return &Error{Err: fmt.Errorf("stitching.%w", err)}
}

// JSON is the normalized form stored beside the document as sent.
func (c *Config) JSON() string {
	if c.Stitching.Rules == nil {
		cp := *c
		cp.Stitching.Rules = []stitch.Rule{}
		c = &cp
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // SQL is full of -> and <
	if err := enc.Encode(c); err != nil {
		panic(err) // plain data: cannot fail
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// EffectiveStitching is the stitching section with the rules derived from
// the delivery section (deliveryStitchingRules) after the written ones,
// so a written rule keeps its index in error messages.
func (c *Config) EffectiveStitching() stitch.Config {
	st := c.Stitching
	st.Rules = append(slices.Clip(c.Stitching.Rules), deliveryStitchingRules(&c.Delivery)...)
	if len(c.Segments) > 0 {
		st.Rules = append(st.Rules, segment.StitchingRules(st.Rules)...)
	}
	return st
}

// IdentifierCategories lists the categories the effective stitching rules
// read, sorted: those a customer can be looked up by.
func (c *Config) IdentifierCategories() []string {
	var out []string
	for _, r := range c.EffectiveStitching().Rules {
		out = append(out, r.Identifier)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// StitchingHash fingerprints the effective stitching rules: entities built
// under another fingerprint must be rebuilt.
func (c *Config) StitchingHash() string {
	// The engine's version is part of it: entities stitched by an engine
	// that decided otherwise (before order-independent stitching, version
	// 2) are rebuilt by the first run of this one.
	b, err := json.Marshal(struct {
		Engine int
		stitch.Config
	}{stitch.EngineVersion, c.EffectiveStitching()})
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
