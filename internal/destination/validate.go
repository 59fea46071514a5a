package destination

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/quartz"
	"github.com/weftdata/weft/job"
)

// The types of destination.
const (
	TypeWebhook    = "webhook"
	TypeFileExport = "file_export"
)

// JobPrefix starts the job of each destination: destination:<id>.
const JobPrefix = "destination:"

// KindPrefix starts the job kind of each type: destination_<type>.
const KindPrefix = "destination_"

// Kind is the job kind that runs destinations of a type.
func Kind(typ string) string { return KindPrefix + typ }

// JobName is the job a destination runs as.
func JobName(id string) string { return JobPrefix + id }

// Defaults and bounds of the webhook fields.
const (
	BatchSizeDefault   = 500
	BatchSizeMax       = 10_000
	TimeoutDefault     = 10 * time.Second
	TimeoutMax         = 5 * time.Minute
	MaxAttemptsDefault = 8
	MaxAttemptsMax     = 100
)

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Known is what a configuration declares that destinations refer to.
type Known struct {
	// Segments are the ids of the segments of segments:.
	Segments map[string]bool
	// Attributes are the attributes of attributes: by id.
	Attributes map[string]*attr.Definition
	// Categories are the identifier categories the stitching rules read.
	Categories map[string]bool
}

// Type is a kind of destination: how its own fields are checked and the
// job that runs it. Each type registers itself (RegisterType), so that the
// webhook and the file export are built and checked without knowing each
// other.
type Type struct {
	// Name is the value of the type field: webhook, file_export.
	Name string
	// Validate checks the fields of the type once the common ones (id,
	// type, attributes, identifiers, consent, cron) passed; it returns
	// d.Errorf(field, ...) to name the field at fault. Nil: no more
	// checks.
	Validate func(d *Definition, k *Known) error
	// Job is the job kind (Kind(Name)) that runs destinations of the type,
	// built from the server's dependencies. Nil: the type is declared but
	// not built into this binary, and its destinations do not run.
	Job func(deps *Deps) job.Info
}

var (
	typesMu sync.RWMutex
	types   = map[string]Type{}
)

// RegisterType adds the code of a type of destination (TypeWebhook or
// TypeFileExport). A type not registered is still accepted in weft.yaml,
// with the common checks only, and its destinations are listed as jobs
// that cannot run. It panics on another name or a duplicate: programming
// errors, found at start-up.
func RegisterType(t Type) {
	if t.Name != TypeWebhook && t.Name != TypeFileExport {
		panic("destination.RegisterType: unknown type " + t.Name)
	}
	typesMu.Lock()
	defer typesMu.Unlock()
	if _, dup := types[t.Name]; dup {
		panic("destination.RegisterType: " + t.Name + " registered twice")
	}
	types[t.Name] = t
}

// Types lists the registered types by name.
func Types() []Type {
	typesMu.RLock()
	defer typesMu.RUnlock()
	out := make([]Type, 0, len(types))
	for _, t := range types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func lookupType(name string) (Type, bool) {
	typesMu.RLock()
	defer typesMu.RUnlock()
	t, ok := types[name]
	return t, ok
}

func init() {
	// file_export registers itself where it is built.
	RegisterType(Type{Name: TypeWebhook, Validate: validateWebhook, Job: WebhookInfo})
}

// FieldError is a fault of one field of a destination; its message names
// the path, as in destinations[crm_hook].url: must be http or https.
type FieldError struct {
	Destination string // the id, or the index in brackets' place when the id is bad
	Field       string // below the destination; empty for the destination itself
	Err         error
}

func (e *FieldError) Error() string {
	path := "destinations[" + e.Destination + "]"
	if e.Field != "" {
		path += "." + e.Field
	}
	return path + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// Errorf is a fault of a field of d.
func (d *Definition) Errorf(field, format string, args ...any) error {
	return &FieldError{Destination: d.ID, Field: field, Err: fmt.Errorf(format, args...)}
}

// Validate checks the destinations of a configuration against what it
// declares: everything that needs no database. Errors are *FieldError.
func Validate(defs []Definition, k *Known) error {
	seen := map[string]bool{}
	for i := range defs {
		d := &defs[i]
		if !idPattern.MatchString(d.ID) {
			return &FieldError{Destination: strconv.Itoa(i), Field: "id",
				Err: fmt.Errorf("%q must match %s (lower case letters, digits and _, starting with a letter)", d.ID, idPattern)}
		}
		if seen[d.ID] {
			return d.Errorf("id", "declared twice: ids must be unique")
		}
		seen[d.ID] = true
		if d.Type != TypeWebhook && d.Type != TypeFileExport {
			return d.Errorf("type", "%q must be %s or %s", d.Type, TypeWebhook, TypeFileExport)
		}
		if err := validateCommon(d, k); err != nil {
			return err
		}
		if t, ok := lookupType(d.Type); ok && t.Validate != nil {
			if err := t.Validate(d, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateCommon checks the fields every type has.
func validateCommon(d *Definition, k *Known) error {
	for i, a := range d.Attributes {
		if k.Attributes[a] == nil {
			return d.Errorf(fmt.Sprintf("attributes[%d]", i), "no attribute %q is declared under attributes", a)
		}
		if slices.Index(d.Attributes, a) != i {
			return d.Errorf(fmt.Sprintf("attributes[%d]", i), "%q is listed twice", a)
		}
	}
	for i, c := range d.Identifiers {
		if !k.Categories[c] {
			return d.Errorf(fmt.Sprintf("identifiers[%d]", i), "%q is not an identifier category of the stitching rules (known: %s)", c, strings.Join(sortedKeys(k.Categories), ", "))
		}
		if slices.Index(d.Identifiers, c) != i {
			return d.Errorf(fmt.Sprintf("identifiers[%d]", i), "%q is listed twice", c)
		}
	}
	if d.Consent != "" {
		a := k.Attributes[d.Consent]
		switch {
		case a == nil:
			return d.Errorf("consent", "no attribute %q is declared under attributes", d.Consent)
		case !a.IsEnabled():
			return d.Errorf("consent", "attribute %s is disabled: nobody would have consent", a.ID)
		case a.Multiple():
			return d.Errorf("consent", "attribute %s holds a list (type %s): consent needs one value per customer", a.ID, a.Type)
		case a.ResultType() != attr.DataBool:
			return d.Errorf("consent", "attribute %s is a %s: consent needs a bool attribute (data_type: bool, true is consent given)", a.ID, a.ResultType())
		}
	}
	if d.Cron != "" {
		if _, err := quartz.Parse(d.Cron); err != nil {
			return d.Errorf("cron", "%w", err)
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validateWebhook checks the fields of a webhook, and refuses those of
// other types.
func validateWebhook(d *Definition, k *Known) error {
	for _, f := range []struct {
		name string
		set  bool
	}{{"segment", d.Segment != ""}, {"target", d.Target != ""}, {"format", d.Format != ""}, {"mode", d.Mode != ""}} {
		if f.set {
			return d.Errorf(f.name, "belongs to file_export destinations; a webhook takes segments (a list), url and secret")
		}
	}
	if err := checkURL(d.URL); err != nil {
		return d.Errorf("url", "%w", err)
	}
	if len(d.Segments) == 0 && len(d.Attributes) == 0 && len(d.Identifiers) == 0 {
		return d.Errorf("segments", "give segments (their membership changes are sent), or attributes or identifiers (the profiles whose values changed are sent)")
	}
	for i, s := range d.Segments {
		if !k.Segments[s] {
			return d.Errorf(fmt.Sprintf("segments[%d]", i), "no segment %q is declared under segments", s)
		}
		if slices.Index(d.Segments, s) != i {
			return d.Errorf(fmt.Sprintf("segments[%d]", i), "%q is listed twice", s)
		}
	}
	if d.Secret == "" {
		return d.Errorf("secret", "is required: the name of the Weft secret whose field key signs the requests (weft secrets set %s_key key=...)", d.ID)
	}
	if d.BatchSize < 0 || d.BatchSize > BatchSizeMax {
		return d.Errorf("batch_size", "%d must be between 1 and %d (default %d)", d.BatchSize, BatchSizeMax, BatchSizeDefault)
	}
	if d.RateLimit < 0 || math.IsNaN(d.RateLimit) || math.IsInf(d.RateLimit, 0) {
		return d.Errorf("rate_limit", "must be a positive number of requests per second (0 or none: no limit)")
	}
	if _, err := d.timeout(); err != nil {
		return d.Errorf("timeout", "%w", err)
	}
	if d.MaxAttempts < 0 || d.MaxAttempts > MaxAttemptsMax {
		return d.Errorf("max_attempts", "%d must be between 1 and %d (default %d)", d.MaxAttempts, MaxAttemptsMax, MaxAttemptsDefault)
	}
	return nil
}

func checkURL(raw string) error {
	if raw == "" {
		return errors.New("is required: where the changes are POSTed (http:// or https://)")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("not a URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must be an http:// or https:// URL", raw)
	case u.Host == "":
		return fmt.Errorf("%q has no host", raw)
	case u.User != nil:
		return fmt.Errorf("%q carries credentials: the requests are signed with the secret instead", u.Redacted())
	}
	return nil
}

// batchSize is the most changes or profiles per request.
func (d *Definition) batchSize() int {
	if d.BatchSize <= 0 {
		return BatchSizeDefault
	}
	return d.BatchSize
}

// timeout bounds each request.
func (d *Definition) timeout() (time.Duration, error) {
	if d.Timeout == "" {
		return TimeoutDefault, nil
	}
	t, err := time.ParseDuration(d.Timeout)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (10s, 1m30s)", d.Timeout)
	}
	if t <= 0 || t > TimeoutMax {
		return 0, fmt.Errorf("%s must be above 0 and at most %s", d.Timeout, TimeoutMax)
	}
	return t, nil
}

// maxAttempts is how often one batch is sent in a run.
func (d *Definition) maxAttempts() int {
	if d.MaxAttempts <= 0 {
		return MaxAttemptsDefault
	}
	return d.MaxAttempts
}

// Find returns the destination id of defs, or nil.
func Find(defs []Definition, id string) *Definition {
	for i := range defs {
		if defs[i].ID == id {
			return &defs[i]
		}
	}
	return nil
}
