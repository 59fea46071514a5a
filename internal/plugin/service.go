package plugin

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"

	"github.com/weftdata/weft/internal/bucket"
	"github.com/weftdata/weft/internal/store"
)

// Defaults of Options.
const (
	// URLTTLDefault is how long the URLs of a run's manifests stay valid
	// (Stormly: "a few days" in production; the seed says 5 days).
	URLTTLDefault = 5 * 24 * time.Hour
	// DevURLTTLDefault is how long the URLs of a development manifest
	// (weft plugins manifest) stay valid, as Stormly's development mode.
	DevURLTTLDefault = 8 * time.Hour
)

// Options configure a Service. Zero values take the defaults.
type Options struct {
	// BaseURL is how plugin processes reach this server's HTTP API, as
	// http://127.0.0.1:7700; plugin URLs are absolute under it. Required.
	BaseURL string
	// StorageURL is the folder plugin files are kept in: file:///dir,
	// s3://bucket/prefix?region=..., azblob://container/prefix. Required.
	StorageURL string
	// URLTTL is the validity of URLs in run manifests. Default URLTTLDefault.
	URLTTL time.Duration
	// DevURLTTL is the validity of URLs in development manifests. Default
	// DevURLTTLDefault.
	DevURLTTL time.Duration
	// MaxFileBytes bounds one uploaded file. Default MaxFileBytesDefault.
	MaxFileBytes int64
	// Retention is how long the files, datasets and properties of a
	// finished run are kept, unless they are its plugin's latest (see
	// Cleanup): the job runtime's retention. Default RetentionDefault.
	Retention time.Duration
	// Now is the clock of expiries and of the cleanup. Default time.Now.
	Now func() time.Time
	Log *slog.Logger
	// ServerKey is the key, kept outside the database, that the URL
	// signing key is derived from (with a salt stored in plugin_keys).
	// Nil: a random key of this process, so URLs do not outlive it (tests).
	ServerKey []byte
	// Commands are the plugin commands the operator allows at start;
	// none by default.
	Commands Commands
}

// Service signs plugin URLs and serves what they point at: storage,
// datasets and batch uploads.
type Service struct {
	db     DB
	opts   Options
	base   string
	sign   *signer
	bucket *blob.Bucket
	// datasets serializes DatasetCreate in this process: two requests for
	// one dataset (a manifest asked for while a stage reads it) would both
	// find none and make it twice.
	datasets sync.Mutex
}

// DB is what the service needs from the store (a *store.DB).
type DB interface {
	store.Executor
	Begin(ctx context.Context) (*store.Tx, error)
	Capabilities() store.Capabilities
}

// Open loads (or makes) the signing key and opens the storage folder.
func Open(ctx context.Context, db DB, opts Options) (*Service, error) {
	if opts.URLTTL <= 0 {
		opts.URLTTL = URLTTLDefault
	}
	if opts.DevURLTTL <= 0 {
		opts.DevURLTTL = DevURLTTLDefault
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = MaxFileBytesDefault
	}
	if opts.Retention <= 0 {
		opts.Retention = RetentionDefault
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("plugin base URL %q must be an http(s) URL with a host", opts.BaseURL)
	}
	if opts.StorageURL == "" {
		return nil, errNoBucket
	}
	if su, err := url.Parse(opts.StorageURL); err == nil && su.Scheme == "file" {
		if err := os.MkdirAll(su.Path, 0o750); err != nil {
			return nil, fmt.Errorf("plugin storage: %w", err)
		}
	}
	b, err := bucket.Open(ctx, opts.StorageURL)
	if err != nil {
		return nil, fmt.Errorf("plugin storage: %w", err)
	}
	if opts.ServerKey == nil {
		opts.ServerKey = make([]byte, 32)
		if _, err := rand.Read(opts.ServerKey); err != nil {
			b.Close()
			return nil, err
		}
	}
	key, err := loadKey(ctx, db, opts.ServerKey, opts.Now().UTC())
	if err != nil {
		b.Close()
		return nil, err
	}
	return &Service{db: db, opts: opts, base: strings.TrimRight(opts.BaseURL, "/"),
		sign: &signer{key: key, now: opts.Now}, bucket: b}, nil
}

// Close closes the storage bucket.
func (s *Service) Close() error { return s.bucket.Close() }

// TTL is the validity of URLs: URLTTL, or DevURLTTL for development.
func (s *Service) TTL(dev bool) time.Duration {
	if dev {
		return s.opts.DevURLTTL
	}
	return s.opts.URLTTL
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// InputError is a request a plugin made wrong (a bad range, a bad
// data.json), answered with 400 and Code.
type InputError struct {
	Code    string
	Message string
}

func (e *InputError) Error() string { return e.Message }
