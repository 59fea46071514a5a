package blobimport

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/weftdata/weft/internal/bucket"
	"github.com/weftdata/weft/job"
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

// Args are the job's parameters as weft.yaml, the API and the CLI give
// them (decoded strictly: an unknown parameter or a wrong type is an
// error naming it); ParseParams checks them into Params.
type Args struct {
	Source string `json:"source"`
	Format string `json:"format"`
	Target string `json:"target"`
	// Mapping is an object, or a JSON string of one (as the CLI's --param
	// passes it).
	Mapping json.RawMessage `json:"mapping,omitempty"`
	// BatchSize is a whole number, or a string of one (--param).
	BatchSize json.Number `json:"batch_size,omitempty"`
}

// ParamError is a parameter that cannot be used.
type ParamError = job.ParamError

// ErrBadParam matches every ParamError.
var ErrBadParam = job.ErrBadParam

// ParseParams validates a run's parameters: source, format, target, and
// the optional mapping and batch_size.
func ParseParams(a Args) (*Params, error) {
	p := &Params{}
	var err error
	if p.Source, err = required("source", a.Source); err != nil {
		return nil, err
	}
	if p.bucketURL, p.prefix, err = bucket.Parse(p.Source); err != nil {
		return nil, &ParamError{Param: "source", Reason: err.Error()}
	}
	format, err := required("format", a.Format)
	if err != nil {
		return nil, err
	}
	switch p.Format = Format(strings.ToLower(format)); p.Format {
	case FormatJSON, FormatNDJSON, FormatCSV:
	default:
		return nil, &ParamError{Param: "format", Reason: fmt.Sprintf("unknown format %q (use json, ndjson or csv)", format)}
	}
	if p.Target, err = required("target", a.Target); err != nil {
		return nil, err
	}
	switch {
	case p.Target == TargetEvents:
		p.BatchSize = EventBatchDefault
	case strings.HasPrefix(p.Target, ObjectTargetPrefix):
		p.ObjectType = strings.TrimPrefix(p.Target, ObjectTargetPrefix)
		if !objectTypeRE.MatchString(p.ObjectType) {
			return nil, &ParamError{Param: "target", Reason: fmt.Sprintf("object type %q must match %s", p.ObjectType, objectTypeRE)}
		}
		p.BatchSize = ObjectBatchDefault
	default:
		return nil, &ParamError{Param: "target", Reason: fmt.Sprintf("unknown target %q (use events or objects:<type>)", p.Target)}
	}
	if len(a.Mapping) > 0 && string(a.Mapping) != "null" {
		var spec any
		if err := json.Unmarshal(a.Mapping, &spec); err != nil {
			return nil, &ParamError{Param: "mapping", Reason: err.Error()}
		}
		if p.Mapping, err = ParseMapping(spec); err != nil {
			return nil, &ParamError{Param: "mapping", Reason: err.Error()}
		}
		p.Mapping.exactNumbers = p.Target == TargetEvents
	}
	if a.BatchSize != "" {
		n, err := a.BatchSize.Int64()
		if err != nil || n < 1 || n > 100_000 {
			return nil, &ParamError{Param: "batch_size", Reason: fmt.Sprintf("%v is not a whole number from 1 to 100000", a.BatchSize)}
		}
		p.BatchSize = int(n)
	}
	return p, nil
}

func required(name, v string) (string, error) {
	if v = strings.TrimSpace(v); v == "" {
		return "", &ParamError{Param: name, Reason: "required"}
	}
	return v, nil
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
