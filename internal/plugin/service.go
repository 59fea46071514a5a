package plugin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"gocloud.dev/blob"

	"github.com/weftdata/weft/internal/blobimport"
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
}

// Service signs plugin URLs and serves what they point at: storage,
// datasets and batch uploads.
type Service struct {
	db     *store.DB
	opts   Options
	base   string
	sign   *signer
	bucket *blob.Bucket
}

// Open loads (or makes) the signing key and opens the storage folder.
func Open(ctx context.Context, db *store.DB, opts Options) (*Service, error) {
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
	bucket, err := blobimport.OpenFolder(ctx, opts.StorageURL)
	if err != nil {
		return nil, fmt.Errorf("plugin storage: %w", err)
	}
	key, err := loadKey(ctx, db, opts.Now().UTC())
	if err != nil {
		bucket.Close()
		return nil, err
	}
	return &Service{db: db, opts: opts, base: strings.TrimRight(opts.BaseURL, "/"),
		sign: &signer{key: key, now: opts.Now}, bucket: bucket}, nil
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

// URL returns the absolute signed URL of a token (a prefix for
// upload-url and files, to which the plugin appends /<path>).
func (s *Service) URL(kind, run, scope string, ttl time.Duration) string {
	exp := s.opts.Now().Add(ttl).Truncate(time.Second)
	return s.base + s.sign.path(Token{Kind: kind, Run: run, Scope: scope, Expires: exp}, "")
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

// ErrStageNotRunning refuses an upload into a stage that is not running.
var ErrStageNotRunning = errors.New("stage is not running")

// StageError is an upload into a stage other than the current one.
type StageError struct{ Run, Stage, Status string }

func (e *StageError) Error() string {
	if e.Status == "" {
		return fmt.Sprintf("run %s has no stage %q: uploads go only into the current stage", e.Run, e.Stage)
	}
	return fmt.Sprintf("stage %q of run %s is %s: uploads go only into the current stage, while it runs", e.Stage, e.Run, e.Status)
}

func (e *StageError) Is(target error) bool { return target == ErrStageNotRunning }

// StageStatus reads a stage's status ("" if it never started).
func (s *Service) StageStatus(ctx context.Context, run, stage string) (string, error) {
	var status string
	err := s.db.SQL().QueryRowContext(ctx, s.db.Query("PluginStageStatus"), run, stage).Scan(&status)
	if err != nil && !isNoRows(err) {
		return "", fmt.Errorf("read stage %s of run %s: %w", stage, run, err)
	}
	return status, nil
}

// StageStart marks a stage running (again, when a run resumes).
func (s *Service) StageStart(ctx context.Context, run, stage string) error {
	_, err := s.db.SQL().ExecContext(ctx, s.db.Query("PluginStageStart"), run, stage, s.now())
	if err != nil {
		return fmt.Errorf("start stage %s of run %s: %w", stage, run, err)
	}
	return nil
}

// StageFinish records how a stage ended (succeeded or failed).
func (s *Service) StageFinish(ctx context.Context, run, stage, status string) error {
	_, err := s.db.SQL().ExecContext(ctx, s.db.Query("PluginStageFinish"), run, stage, status, s.now())
	if err != nil {
		return fmt.Errorf("finish stage %s of run %s: %w", stage, run, err)
	}
	return nil
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// requireRunning refuses uploads outside the running stage.
func (s *Service) requireRunning(ctx context.Context, t Token) error {
	status, err := s.StageStatus(ctx, t.Run, t.Scope)
	if err != nil {
		return err
	}
	if status != StatusRunning {
		return &StageError{Run: t.Run, Stage: t.Scope, Status: status}
	}
	return nil
}

// Stage statuses.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// UploadURL answers GET {getUploadUrls[stage]}/<path>: a presigned PUT
// URL for the path, valid as long as the URL it was asked with.
func (s *Service) UploadURL(ctx context.Context, t Token, path string) (string, error) {
	if err := s.requireRunning(ctx, t); err != nil {
		return "", err
	}
	put := Token{Kind: KindPut, Run: t.Run, Scope: t.Scope, Expires: t.Expires}
	return s.base + s.sign.path(put, path), nil
}

// Put stores an uploaded file. size is the request's Content-Length (-1
// when unknown); a body over MaxFileBytes is refused.
func (s *Service) Put(ctx context.Context, t Token, path string, body io.Reader, size int64) (int64, error) {
	if size > s.opts.MaxFileBytes {
		return 0, &TooLargeError{Limit: s.opts.MaxFileBytes}
	}
	if err := s.requireRunning(ctx, t); err != nil {
		return 0, err
	}
	return put(ctx, s.bucket, objectKey(t.Run, t.Scope, path), body, s.opts.MaxFileBytes)
}

// Open reads a stage's file (any stage, from any stage); ErrNotFound if
// there is none.
func (s *Service) Open(ctx context.Context, t Token, path string) (*blob.Reader, error) {
	return open(ctx, s.bucket, objectKey(t.Run, t.Scope, path))
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// InputError is a request a plugin made wrong (a bad range, a bad
// data.json), answered with 400 and Code.
type InputError struct {
	Code    string
	Message string
}

func (e *InputError) Error() string { return e.Message }

// StageRow is a stage of a run as recorded: batches appear as batch-<i>.
type StageRow struct {
	Stage      string     `json:"stage"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// StageList lists a run's stages in the order they started.
func (s *Service) StageList(ctx context.Context, run string) ([]StageRow, error) {
	rows, err := s.db.SQL().QueryContext(ctx, s.db.Query("PluginStageList"), run)
	if err != nil {
		return nil, fmt.Errorf("list stages of run %s: %w", run, err)
	}
	defer rows.Close()
	out := []StageRow{}
	for rows.Next() {
		var r StageRow
		var fin sql.NullTime
		if err := rows.Scan(&r.Stage, &r.Status, &r.StartedAt, &fin); err != nil {
			return nil, err
		}
		r.StartedAt = r.StartedAt.UTC()
		if fin.Valid {
			t := fin.Time.UTC()
			r.FinishedAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
