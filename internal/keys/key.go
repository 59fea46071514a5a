package keys

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The scopes a key can grant.
const (
	ScopeIngest   = "ingest"
	ScopeRead     = "read"
	ScopeDelivery = "delivery"
	ScopeJobs     = "jobs"
	ScopeAdmin    = "admin"
)

// Scopes are the scopes a key can grant, in the order they are listed.
var Scopes = []string{ScopeIngest, ScopeRead, ScopeDelivery, ScopeJobs, ScopeAdmin}

// The names of the keys that are not stored, as the audit trail and
// handlers see them: the bootstrap keys of the command line, the open API
// (no key configured at all) and delivery.api_keys of weft.yaml. A stored
// key cannot take one of them.
const (
	NameBootstrap   = "bootstrap"
	NameOpen        = "open"
	NameDeliveryKey = "delivery.api_keys"
)

// Prefix starts every key, so that a key found in a log or a repository
// is recognised (and secret scanners can be taught it).
const Prefix = "weft_"

// MaxNameLen bounds a key's name.
const MaxNameLen = 100

var (
	// ErrInvalid is a key request that cannot be granted: an empty name,
	// an unknown scope, sources without the ingest scope.
	ErrInvalid = errors.New("invalid key")
	// ErrNameTaken is a name a live key already has.
	ErrNameTaken = errors.New("key name taken")
)

// Key is a key as listed: never the key itself.
type Key struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// Sources, when not empty, are the only sources the key may ingest
	// events of.
	Sources []string `json:"sources"`
	// AllowedOrigins are the browser origins (scheme://host[:port]) that
	// may send events with the key, as a write key of the Segment
	// tracking API; "*" allows any. Empty: no browser origin.
	AllowedOrigins []string `json:"allowed_origins"`
	// Prefix is the first characters of the key.
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// Allows reports whether the key grants the scope; admin grants every
// scope.
func (k *Key) Allows(scope string) bool {
	return slices.Contains(k.Scopes, ScopeAdmin) || slices.Contains(k.Scopes, scope)
}

// AllowsSource reports whether the key may ingest events of the source.
func (k *Key) AllowsSource(source string) bool {
	return len(k.Sources) == 0 || slices.Contains(k.Sources, source)
}

// AllowsOrigin reports whether a browser at origin (the Origin header of
// a request) may use the key.
func (k *Key) AllowsOrigin(origin string) bool {
	origin = normalOrigin(origin)
	for _, o := range k.AllowedOrigins {
		if o == AnyOrigin || o == origin {
			return true
		}
	}
	return false
}

// AnyOrigin in AllowedOrigins allows every origin.
const AnyOrigin = "*"

// CreateParams are what a key is created with.
type CreateParams struct {
	Name           string   `json:"name"`
	Scopes         []string `json:"scopes"`
	Sources        []string `json:"sources"`
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
}

// normalize checks the parameters and returns them trimmed, with scopes
// and sources sorted and without repeats. Errors wrap ErrInvalid.
func (p CreateParams) normalize() (CreateParams, error) {
	p.Name = strings.TrimSpace(p.Name)
	switch {
	case p.Name == "":
		return p, fmt.Errorf("%w: name is empty", ErrInvalid)
	case len(p.Name) > MaxNameLen:
		return p, fmt.Errorf("%w: name is %d bytes, over %d", ErrInvalid, len(p.Name), MaxNameLen)
	case p.Name == NameBootstrap || p.Name == NameOpen || p.Name == NameDeliveryKey:
		return p, fmt.Errorf("%w: name %q is reserved for the keys that are not stored", ErrInvalid, p.Name)
	case len(p.Scopes) == 0:
		return p, fmt.Errorf("%w: scopes is empty: give one or more of %s", ErrInvalid, strings.Join(Scopes, ", "))
	}
	for _, s := range p.Scopes {
		if !slices.Contains(Scopes, s) {
			return p, fmt.Errorf("%w: unknown scope %q: the scopes are %s", ErrInvalid, s, strings.Join(Scopes, ", "))
		}
	}
	p.Scopes = sortedSet(p.Scopes)
	var err error
	if p.AllowedOrigins, err = normalOrigins(p.AllowedOrigins); err != nil {
		return p, err
	}
	if len(p.Sources) == 0 {
		p.Sources = []string{}
		return p, nil
	}
	switch {
	case !slices.Contains(p.Scopes, ScopeIngest):
		return p, fmt.Errorf("%w: sources limit the ingest scope: add scope ingest or leave sources out", ErrInvalid)
	case slices.Contains(p.Scopes, ScopeAdmin):
		return p, fmt.Errorf("%w: an admin key ingests every source: leave sources out or drop scope admin", ErrInvalid)
	}
	for _, s := range p.Sources {
		if strings.TrimSpace(s) == "" {
			return p, fmt.Errorf("%w: sources holds an empty source id", ErrInvalid)
		}
	}
	p.Sources = sortedSet(p.Sources)
	return p, nil
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

type contextKey struct{}

// WithKey returns a context carrying the key a request authenticated as.
func WithKey(ctx context.Context, k *Key) context.Context {
	return context.WithValue(ctx, contextKey{}, k)
}

// FromContext is the key the request authenticated as; nil outside an
// authenticated route.
func FromContext(ctx context.Context) *Key {
	k, _ := ctx.Value(contextKey{}).(*Key)
	return k
}

// normalOrigins checks allowed origins and returns them lower case,
// sorted, without repeats. Errors wrap ErrInvalid.
func normalOrigins(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, o := range in {
		if o == AnyOrigin {
			out = append(out, o)
			continue
		}
		n := normalOrigin(o)
		u, err := url.Parse(n)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("%w: allowed origin %q must be scheme://host[:port] (such as https://shop.example.com), or * for any", ErrInvalid, o)
		}
		out = append(out, n)
	}
	return sortedSet(out), nil
}

// normalOrigin is an origin as compared: lower case, without a trailing
// slash.
func normalOrigin(o string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
}
