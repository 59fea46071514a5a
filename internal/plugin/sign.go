package plugin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// URL kinds, the first segment after /plugin/.
const (
	KindUploadURL = "upload-url"
	KindPut       = "put"
	KindFiles     = "files"
	KindData      = "data"
)

// PathPrefix is where plugin URLs live, outside /v1 and its API keys.
const PathPrefix = "/plugin/"

var (
	// ErrBadSignature is a URL whose signature does not match: tampered
	// with, or signed with another key.
	ErrBadSignature = errors.New("invalid plugin URL signature: the URL was changed or comes from another server; use the URL from the manifest as is")
	// ErrMalformedURL is a plugin URL without its parts.
	ErrMalformedURL = errors.New("malformed plugin URL")
)

// ExpiredError is a correctly signed URL past its expiry.
type ExpiredError struct{ At time.Time }

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("this plugin URL expired at %s: get a fresh one (a new manifest, or a new upload URL right before uploading)", e.At.UTC().Format(time.RFC3339))
}

// nameRE bounds run ids, stage names and dataset keys: they are URL
// segments and signed fields.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Token is the signed part of a plugin URL.
type Token struct {
	Kind string
	Run  string
	// Scope is the stage (upload-url, put, files) or the dataset key (data).
	Scope   string
	Expires time.Time
}

// signer signs and checks plugin URLs.
type signer struct {
	key []byte
	now func() time.Time
}

func (s *signer) mac(method string, t Token, path string) []byte {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "weft-plugin-url-v1\n%s\n%s\n%s\n%s\n%d\n%s", method, t.Kind, t.Run, t.Scope, t.Expires.Unix(), path)
	return m.Sum(nil)
}

// methodOf is the HTTP method a kind of URL is signed for.
func methodOf(kind string) string {
	if kind == KindPut {
		return "PUT"
	}
	return "GET"
}

// path returns the URL path of a token; path is signed only for put.
func (s *signer) path(t Token, path string) string {
	signed := ""
	if t.Kind == KindPut {
		signed = path
	}
	sig := base64.RawURLEncoding.EncodeToString(s.mac(methodOf(t.Kind), t, signed))
	p := PathPrefix + t.Kind + "/" + t.Run + "/" + t.Scope + "/" + strconv.FormatInt(t.Expires.Unix(), 10) + "/" + sig
	if path != "" {
		p += "/" + escapePath(path)
	}
	return p
}

// parse checks the signature and expiry of the URL path after PathPrefix
// and returns its token and the file path that follows it (still to be
// validated with ValidatePath).
func (s *signer) parse(method, rest string) (Token, string, error) {
	parts := strings.SplitN(rest, "/", 6)
	if len(parts) < 5 {
		return Token{}, "", fmt.Errorf("%w: expected /plugin/<kind>/<run>/<scope>/<expiry>/<signature>", ErrMalformedURL)
	}
	t := Token{Kind: parts[0], Run: parts[1], Scope: parts[2]}
	switch t.Kind {
	case KindUploadURL, KindPut, KindFiles, KindData:
	default:
		return Token{}, "", fmt.Errorf("%w: unknown kind %q", ErrMalformedURL, t.Kind)
	}
	if method != methodOf(t.Kind) && !(method == "HEAD" && methodOf(t.Kind) == "GET") {
		return Token{}, "", &MethodError{Kind: t.Kind, Method: method, Want: methodOf(t.Kind)}
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || !nameRE.MatchString(t.Run) || !nameRE.MatchString(t.Scope) {
		return Token{}, "", ErrBadSignature
	}
	t.Expires = time.Unix(exp, 0).UTC()
	got, err := base64.RawURLEncoding.DecodeString(parts[4])
	if err != nil {
		return Token{}, "", ErrBadSignature
	}
	path := ""
	hasPath := len(parts) == 6
	if hasPath {
		path = parts[5]
	}
	signed := ""
	if t.Kind == KindPut {
		signed = path
	}
	if !hmac.Equal(got, s.mac(methodOf(t.Kind), t, signed)) {
		return Token{}, "", ErrBadSignature
	}
	if !s.now().Before(t.Expires) {
		return Token{}, "", &ExpiredError{At: t.Expires}
	}
	if t.Kind == KindData && hasPath {
		return Token{}, "", fmt.Errorf("%w: a data URL takes no path after its signature", ErrMalformedURL)
	}
	if t.Kind != KindData && !hasPath {
		path = ""
	}
	return t, path, nil
}

// MethodError is a plugin URL used with the wrong method.
type MethodError struct{ Kind, Method, Want string }

func (e *MethodError) Error() string {
	return fmt.Sprintf("a plugin %s URL takes %s, not %s", e.Kind, e.Want, e.Method)
}

// escapePath escapes each segment of a validated path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// loadKey returns the signing key: derived from serverKey, which lives
// outside the database, and the random salt in plugin_keys, made on first
// use (two processes racing both insert with ON CONFLICT DO NOTHING and
// read the winner). The row alone signs nothing, so SQL that reads it (a
// context query, say) cannot forge URLs. A row written before keys were
// derived (the key itself, in hex) serves as the salt: the key changes
// once, and the URLs given out before it stop working.
func loadKey(ctx context.Context, db store.Executor, serverKey []byte, now time.Time) ([]byte, error) {
	var salt string
	err := db.QueryRowContext(ctx, db.Query("PluginKeyGet")).Scan(&salt)
	if errors.Is(err, sql.ErrNoRows) {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, err
		}
		if _, err := db.ExecContext(ctx, db.Query("PluginKeyInsert"), hex.EncodeToString(fresh), now); err != nil {
			return nil, fmt.Errorf("store plugin URL key salt: %w", err)
		}
		err = db.QueryRowContext(ctx, db.Query("PluginKeyGet")).Scan(&salt)
	}
	if err != nil {
		return nil, fmt.Errorf("read plugin URL key salt: %w", err)
	}
	if salt == "" {
		return nil, errors.New("plugin_keys holds an empty salt: delete the row to make a new one (every plugin URL given out stops working)")
	}
	return deriveKey(serverKey, salt), nil
}

// deriveKey is the signing key of a salt under the server key.
func deriveKey(serverKey []byte, salt string) []byte {
	m := hmac.New(sha256.New, serverKey)
	m.Write([]byte("weft-plugin-url-key-v2\x00" + salt))
	return m.Sum(nil)
}

// URL returns the absolute signed URL of a token (a prefix for
// upload-url and files, to which the plugin appends /<path>).
func (s *Service) URL(kind, run, scope string, ttl time.Duration) string {
	return s.base + s.sign.path(s.Token(kind, run, scope, ttl), "")
}

// Token is the token of a URL valid for ttl from now (the service's
// clock).
func (s *Service) Token(kind, run, scope string, ttl time.Duration) Token {
	return Token{Kind: kind, Run: run, Scope: scope, Expires: s.opts.Now().Add(ttl).Truncate(time.Second)}
}

// Parse checks a plugin URL path (after PathPrefix) for the method: its
// signature, its expiry, and for kinds that take one, its file path.
func (s *Service) Parse(method, rest string) (Token, string, error) {
	t, p, err := s.sign.parse(method, rest)
	if err != nil {
		return t, p, err
	}
	if t.Kind != KindData {
		if err := ValidatePath(p); err != nil {
			return t, p, err
		}
	}
	return t, p, nil
}
