package blobimport

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/weftdata/weft/internal/bucket"
)

// Format is how a file holds its records.
type Format string

// The formats a file can have.
const (
	// FormatJSON is one JSON array of records.
	FormatJSON Format = "json"
	// FormatNDJSON is one JSON record per line.
	FormatNDJSON Format = "ndjson"
	// FormatCSV is comma-separated values with a header row naming the
	// columns.
	FormatCSV Format = "csv"
)

// TargetEvents is the target that appends to the event log; an object
// target is ObjectTargetPrefix followed by the object type.
const (
	TargetEvents       = "events"
	ObjectTargetPrefix = "objects:"
)

// Batch sizes: records per call of Events.Append and Objects.Upsert.
const (
	EventBatchDefault  = 20_000
	ObjectBatchDefault = 1_000
)

var objectTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,61}$`)

// Params are a run's parameters, parsed and checked.
type Params struct {
	// Source is the URL of the folder to import, as given.
	Source string
	// Format of every file in the folder.
	Format Format
	// Target is "events" or "objects:<type>"; ObjectType is the type of an
	// object target.
	Target     string
	ObjectType string
	// Mapping, when not nil, builds each record from the file's fields.
	Mapping *Mapping
	// BatchSize is how many records go to the store per call.
	BatchSize int

	bucketURL string // what blob.OpenBucket gets
	prefix    string // keys listed
}

// ParamError is a parameter that cannot be used.
type ParamError struct {
	Param  string
	Reason string
}

func (e *ParamError) Error() string { return fmt.Sprintf("parameter %s: %s", e.Param, e.Reason) }

// ErrBadParam matches every ParamError.
var ErrBadParam = errors.New("bad parameter")

// Is makes errors.Is(err, ErrBadParam) true for any ParamError.
func (e *ParamError) Is(target error) bool { return target == ErrBadParam }

// ParseParams reads and validates a run's parameters: source, format,
// target, and the optional mapping and batch_size. Unknown parameters are
// refused, so that a typo is not silently ignored.
func ParseParams(raw map[string]any) (*Params, error) {
	known := map[string]bool{"source": true, "format": true, "target": true, "mapping": true, "batch_size": true}
	var unknown []string
	for k := range raw {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, &ParamError{unknown[0], "unknown parameter (known: source, format, target, mapping, batch_size)"}
	}
	p := &Params{}
	var err error
	if p.Source, err = stringParam(raw, "source"); err != nil {
		return nil, err
	}
	if p.bucketURL, p.prefix, err = bucket.Parse(p.Source); err != nil {
		return nil, &ParamError{"source", err.Error()}
	}
	format, err := stringParam(raw, "format")
	if err != nil {
		return nil, err
	}
	switch p.Format = Format(strings.ToLower(format)); p.Format {
	case FormatJSON, FormatNDJSON, FormatCSV:
	default:
		return nil, &ParamError{"format", fmt.Sprintf("unknown format %q (use json, ndjson or csv)", format)}
	}
	if p.Target, err = stringParam(raw, "target"); err != nil {
		return nil, err
	}
	switch {
	case p.Target == TargetEvents:
		p.BatchSize = EventBatchDefault
	case strings.HasPrefix(p.Target, ObjectTargetPrefix):
		p.ObjectType = strings.TrimPrefix(p.Target, ObjectTargetPrefix)
		if !objectTypeRE.MatchString(p.ObjectType) {
			return nil, &ParamError{"target", fmt.Sprintf("object type %q must match %s", p.ObjectType, objectTypeRE)}
		}
		p.BatchSize = ObjectBatchDefault
	default:
		return nil, &ParamError{"target", fmt.Sprintf("unknown target %q (use events or objects:<type>)", p.Target)}
	}
	if m, ok := raw["mapping"]; ok && m != nil {
		if p.Mapping, err = ParseMapping(m); err != nil {
			return nil, &ParamError{"mapping", err.Error()}
		}
		p.Mapping.exactNumbers = p.Target == TargetEvents
	}
	if b, ok := raw["batch_size"]; ok && b != nil {
		n, ok := intValue(b)
		if !ok || n < 1 || n > 100_000 {
			return nil, &ParamError{"batch_size", fmt.Sprintf("%v is not a whole number from 1 to 100000", b)}
		}
		p.BatchSize = n
	}
	return p, nil
}

func stringParam(raw map[string]any, name string) (string, error) {
	v, ok := raw[name]
	if !ok || v == nil {
		return "", &ParamError{name, "required"}
	}
	s, ok := v.(string)
	if !ok {
		return "", &ParamError{name, fmt.Sprintf("must be a string, not %T", v)}
	}
	if s = strings.TrimSpace(s); s == "" {
		return "", &ParamError{name, "required"}
	}
	return s, nil
}

func intValue(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	case string:
		var i int
		if _, err := fmt.Sscan(n, &i); err == nil && fmt.Sprint(i) == n {
			return i, true
		}
	}
	return 0, false
}

// CursorKey is the KV key holding the import cursor of a source and
// target: "blob_import:" and the first 32 hex digits of the SHA-256 of the
// source URL (its query parameters sorted) and the target, joined by a
// newline. Another source, other options in its URL or another target
// start from the beginning; the format and mapping do not count.
func CursorKey(source, target string) string {
	canon := source
	if u, err := url.Parse(source); err == nil {
		u.RawQuery = u.Query().Encode() // sorted by key
		canon = u.String()
	}
	sum := sha256.Sum256([]byte(canon + "\n" + target))
	return "blob_import:" + hex.EncodeToString(sum[:16])
}
