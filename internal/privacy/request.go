package privacy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// APIVersion is the OpenDSR version Weft speaks.
const APIVersion = "1.0"

// Request types (OpenDSR §6.2).
const (
	TypeErasure     = "erasure"
	TypeAccess      = "access"
	TypePortability = "portability"
)

// RequestTypes are the supported request types, as discovery lists them.
var RequestTypes = []string{TypeErasure, TypeAccess, TypePortability}

// Statuses (OpenDSR §8).
const (
	StatusPending    = "pending"
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusCancelled  = "cancelled"
)

// Identity formats Weft supports (OpenDSR §5.2 lists sha1 and md5 too).
const (
	FormatRaw    = "raw"
	FormatSHA256 = "sha256"
)

// Formats are the supported identity formats.
var Formats = []string{FormatRaw, FormatSHA256}

// Bounds of a request.
const (
	// MaxIdentities bounds subject_identities.
	MaxIdentities = 100
	// MaxCallbackURLs bounds status_callback_urls.
	MaxCallbackURLs = 10
	// maxURLBytes bounds one callback URL.
	maxURLBytes = 2048
)

// Identity is an OpenDSR identity object (§5.3).
type Identity struct {
	Type   string `json:"identity_type"`
	Value  string `json:"identity_value"`
	Format string `json:"identity_format"`
}

// Request is an OpenDSR request (§7.1) as POST /v1/privacy/requests takes
// it. Unknown fields are refused: processor-specific data goes under
// extensions.
type Request struct {
	SubjectRequestID   string                     `json:"subject_request_id"`
	SubjectRequestType string                     `json:"subject_request_type"`
	SubjectIdentities  []Identity                 `json:"subject_identities"`
	SubmittedTime      string                     `json:"submitted_time"`
	APIVersion         string                     `json:"api_version,omitempty"`
	StatusCallbackURLs []string                   `json:"status_callback_urls,omitempty"`
	Extensions         map[string]json.RawMessage `json:"extensions,omitempty"`
	// PropertyID (OpenGDPR 0.1) and Regulation (OpenDSR 2.0) are accepted
	// and ignored, so controllers of either version are served.
	PropertyID string `json:"property_id,omitempty"`
	Regulation string `json:"regulation,omitempty"`
}

// RequestError is a request refused before it is stored: a 400 naming the
// field at fault.
type RequestError struct {
	Field  string
	Reason string
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// ErrDuplicate is a subject_request_id already received.
var ErrDuplicate = errors.New("subject_request_id was already received")

// uuidV4RE is a lowercase UUID v4, as the spec requires (§1.1).
var uuidV4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseRequest decodes and checks a request body against the identity
// types supported (the identifier categories of the configuration in
// force).
func ParseRequest(body []byte, categories []string) (*Request, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req Request
	if err := dec.Decode(&req); err != nil {
		return nil, decodeError(err)
	}
	if dec.More() {
		return nil, &RequestError{Reason: "the body holds more than one JSON value"}
	}
	return &req, req.validate(categories)
}

func decodeError(err error) error {
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &RequestError{Field: strings.Trim(f, `"`), Reason: "unknown field: OpenDSR 1.0 requests take subject_request_id, subject_request_type, subject_identities, submitted_time, api_version, status_callback_urls and extensions (processor-specific data goes under extensions)"}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &RequestError{Field: te.Field, Reason: "must be a JSON " + jsonKind(te.Type.Kind().String()) + ", not " + te.Value}
	}
	return &RequestError{Reason: "the body is not a JSON OpenDSR request: " + msg}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "slice":
		return "array"
	case "map", "struct":
		return "object"
	}
	return goKind
}

func (r *Request) validate(categories []string) error {
	switch {
	case r.SubjectRequestID == "":
		return &RequestError{"subject_request_id", "is required"}
	case !uuidV4RE.MatchString(r.SubjectRequestID):
		return &RequestError{"subject_request_id", fmt.Sprintf("%q is not a lowercase UUID v4 (as a7551968-d5d6-44b2-9831-815ac9017798)", truncate(r.SubjectRequestID))}
	case r.SubjectRequestType == "":
		return &RequestError{"subject_request_type", "is required"}
	case !slices.Contains(RequestTypes, r.SubjectRequestType):
		return &RequestError{"subject_request_type", fmt.Sprintf("%q is not supported (supported: %s)", truncate(r.SubjectRequestType), strings.Join(RequestTypes, ", "))}
	case r.SubmittedTime == "":
		return &RequestError{"submitted_time", "is required"}
	}
	if _, err := time.Parse(time.RFC3339, r.SubmittedTime); err != nil {
		return &RequestError{"submitted_time", fmt.Sprintf("%q is not an RFC 3339 time (as 2018-10-02T15:00:00Z)", truncate(r.SubmittedTime))}
	}
	if r.APIVersion != "" && !strings.HasPrefix(r.APIVersion, "1.") && r.APIVersion != "1" {
		return &RequestError{"api_version", fmt.Sprintf("%q is not supported: this processor speaks OpenDSR %s", truncate(r.APIVersion), APIVersion)}
	}
	if err := r.validateIdentities(categories); err != nil {
		return err
	}
	return validateCallbackURLs(r.StatusCallbackURLs)
}

func (r *Request) validateIdentities(categories []string) error {
	if len(r.SubjectIdentities) == 0 {
		return &RequestError{"subject_identities", "is required: at least one identity (Weft reads no identities from extensions)"}
	}
	if len(r.SubjectIdentities) > MaxIdentities {
		return &RequestError{"subject_identities", fmt.Sprintf("holds %d identities, at most %d are taken", len(r.SubjectIdentities), MaxIdentities)}
	}
	for i := range r.SubjectIdentities {
		id := &r.SubjectIdentities[i]
		field := fmt.Sprintf("subject_identities[%d]", i)
		switch {
		case id.Type == "":
			return &RequestError{field + ".identity_type", "is required"}
		case !slices.Contains(categories, id.Type):
			return &RequestError{field + ".identity_type", fmt.Sprintf("%q is not supported: the identity types are the identifier categories of the configuration in force (%s)", truncate(id.Type), orNone(categories))}
		case id.Format == "":
			return &RequestError{field + ".identity_format", "is required"}
		case !slices.Contains(Formats, id.Format):
			return &RequestError{field + ".identity_format", fmt.Sprintf("%q is not supported (supported: %s)", truncate(id.Format), strings.Join(Formats, ", "))}
		case id.Value == "":
			return &RequestError{field + ".identity_value", "is required"}
		}
		if id.Format == FormatSHA256 {
			id.Value = strings.ToLower(id.Value)
			if !sha256RE.MatchString(id.Value) {
				return &RequestError{field + ".identity_value", "is not a SHA-256 in hex (64 hex digits), as the sha256 format requires"}
			}
		}
	}
	return nil
}

func validateCallbackURLs(urls []string) error {
	if len(urls) > MaxCallbackURLs {
		return &RequestError{"status_callback_urls", fmt.Sprintf("holds %d URLs, at most %d are taken", len(urls), MaxCallbackURLs)}
	}
	for i, raw := range urls {
		field := fmt.Sprintf("status_callback_urls[%d]", i)
		if len(raw) > maxURLBytes {
			return &RequestError{field, fmt.Sprintf("is %d bytes long, at most %d are taken", len(raw), maxURLBytes)}
		}
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			return &RequestError{field, fmt.Sprintf("%q is not a URL", truncate(raw))}
		case u.Scheme != "https" && u.Scheme != "http":
			return &RequestError{field, fmt.Sprintf("%q is not an absolute http(s) URL", truncate(raw))}
		case u.Host == "":
			return &RequestError{field, fmt.Sprintf("%q has no host", truncate(raw))}
		case u.User != nil:
			return &RequestError{field, "a callback URL may not carry credentials"}
		case u.Fragment != "":
			return &RequestError{field, fmt.Sprintf("%q has a fragment, which is never sent", truncate(raw))}
		}
	}
	return nil
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none: the configuration declares no stitching rule"
	}
	return strings.Join(list, ", ")
}

// truncate shortens an echoed value: errors do not repeat whole inputs.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "..."
}
