package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/object"
	"github.com/weftdata/weft/internal/stitch"
)

// Config is weft.yaml.
type Config struct {
	Stitching stitch.Config `json:"stitching" yaml:"stitching"`
	// Attributes are calculated for every entity (package attr).
	Attributes []attr.Definition `json:"attributes,omitempty" yaml:"attributes,omitempty"`
	// Context are queries over the whole customer base that attribute
	// definitions read from the context table.
	Context []attr.Context `json:"context,omitempty" yaml:"context,omitempty"`
	// Objects are the custom object types (package object): each gets a
	// table objects.<name>, POST/GET /v1/objects/<name> and a GraphQL
	// query field.
	Objects []object.Type `json:"objects,omitempty" yaml:"objects,omitempty"`
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
	return &c, nil
}

// Validate checks everything that needs no database.
func (c *Config) Validate() error {
	if err := c.Stitching.Validate(); err != nil {
		return StitchingError(err)
	}
	if err := attr.Validate(c.Attributes, c.Context); err != nil {
		return &Error{Err: err}
	}
	if err := object.Validate(c.Objects); err != nil {
		return &Error{Err: err}
	}
	return nil
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

// StitchingHash fingerprints the stitching section: entities built under
// another fingerprint must be rebuilt.
func (c *Config) StitchingHash() string {
	b, err := json.Marshal(c.Stitching)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
