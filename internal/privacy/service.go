package privacy

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"

	"github.com/weftdata/weft/internal/bucket"
	"github.com/weftdata/weft/internal/store"
)

// Defaults of Options.
const (
	// ControllerIDDefault is the controller_id of every answer: Weft serves
	// one controller, its operator.
	ControllerIDDefault = "weft"
	// ExpectedCompletionDefault is how long after receipt a request is
	// expected to be done: the job starts it at once, so this is a bound
	// for the controller's patience, well inside GDPR's one month.
	ExpectedCompletionDefault = 24 * time.Hour
	// URLTTLDefault is how long an export URL handed out stays valid.
	URLTTLDefault = 24 * time.Hour
	// CallbackAttemptsDefault is how often a callback is tried.
	CallbackAttemptsDefault = 4
	// CallbackBackoffDefault is the pause before the second attempt,
	// doubled for each later one.
	CallbackBackoffDefault = 2 * time.Second
	// CallbackTimeoutDefault bounds one callback attempt.
	CallbackTimeoutDefault = 10 * time.Second
)

// Options configure the processor.
type Options struct {
	DB *store.DB
	// BaseURL is the server's public URL (http://host:port): the processor
	// domain (its host) and the base of the certificate and export URLs.
	BaseURL string
	// SecretKey, when set, seals the private key in privacy_keys; without
	// it the key pair lives in KeyDir.
	SecretKey []byte
	// KeyDir holds the key pair when there is no secret key (the data
	// directory's privacy-key folder).
	KeyDir string
	// ExportURL is the folder (a bucket URL: file://, s3://, azblob://)
	// exports are written to.
	ExportURL string
	// Categories lists the identifier categories of the configuration in
	// force: the supported identity types.
	Categories func(ctx context.Context) ([]string, error)
	// ControllerID defaults to ControllerIDDefault.
	ControllerID string
	// ExpectedCompletion defaults to ExpectedCompletionDefault.
	ExpectedCompletion time.Duration
	// URLTTL defaults to URLTTLDefault.
	URLTTL time.Duration
	// ExportRetention is how long export files are kept after they are
	// written (retention.go). Default ExportRetentionDefault; negative
	// keeps them for good.
	ExportRetention time.Duration
	// CallbackAttempts, CallbackBackoff and CallbackTimeout tune status
	// callbacks; zero values take the defaults.
	CallbackAttempts int
	CallbackBackoff  time.Duration
	CallbackTimeout  time.Duration
	// HTTPClient sends callbacks (default one with CallbackTimeout).
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// Trigger starts a run of the processing job unless one is waiting
// (jobrunner.Runner.Ensure).
type Trigger interface {
	Ensure(ctx context.Context, name, trigger string) error
}

// Service is the processor.
type Service struct {
	opts    Options
	domain  string
	exports *blob.Bucket

	mu      sync.Mutex
	sign    *signer
	trigger Trigger
}

// Open checks the options and opens the export folder; the key pair is
// read or made on first use.
func Open(ctx context.Context, opts Options) (*Service, error) {
	u, err := url.Parse(opts.BaseURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("privacy: base URL %q has no host", opts.BaseURL)
	}
	if opts.SecretKey == nil && opts.KeyDir == "" {
		return nil, ErrNoKeyStorage
	}
	exports, err := bucket.Open(ctx, opts.ExportURL)
	if err != nil {
		return nil, fmt.Errorf("privacy export folder %s: %w", opts.ExportURL, err)
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	opts.ControllerID = or(opts.ControllerID, ControllerIDDefault)
	opts.ExpectedCompletion = or(opts.ExpectedCompletion, ExpectedCompletionDefault)
	opts.URLTTL = or(opts.URLTTL, URLTTLDefault)
	opts.ExportRetention = or(opts.ExportRetention, ExportRetentionDefault)
	opts.CallbackAttempts = or(opts.CallbackAttempts, CallbackAttemptsDefault)
	opts.CallbackBackoff = or(opts.CallbackBackoff, CallbackBackoffDefault)
	opts.CallbackTimeout = or(opts.CallbackTimeout, CallbackTimeoutDefault)
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: opts.CallbackTimeout}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Categories == nil {
		opts.Categories = func(context.Context) ([]string, error) { return nil, nil }
	}
	return &Service{opts: opts, domain: u.Hostname(), exports: exports}, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Close releases the export folder.
func (s *Service) Close() error { return s.exports.Close() }

// SetTrigger gives the service the job runtime it triggers runs on (set
// once the runtime exists, which runs the service's job).
func (s *Service) SetTrigger(t Trigger) {
	s.mu.Lock()
	s.trigger = t
	s.mu.Unlock()
}

// Wake triggers a processing run when requests have work left (at start:
// a request stored just before a crash).
func (s *Service) Wake(ctx context.Context) error {
	if _, err := nextRecord(ctx, s.opts.DB, nil); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return s.wake(ctx, "privacy requests waiting at start")
}

func (s *Service) wake(ctx context.Context, why string) error {
	s.mu.Lock()
	t := s.trigger
	s.mu.Unlock()
	if t == nil {
		return nil
	}
	if err := t.Ensure(ctx, JobKind, why); err != nil {
		return fmt.Errorf("trigger the %s job: %w", JobKind, err)
	}
	return nil
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

// signer reads or makes the key pair on first use.
func (s *Service) signer(ctx context.Context) (*signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sign != nil {
		return s.sign, nil
	}
	var err error
	if s.opts.SecretKey != nil {
		s.sign, err = loadDBSigner(ctx, s.opts.DB, s.opts.SecretKey, s.domain, s.now())
	} else {
		s.sign, err = loadFileSigner(s.opts.KeyDir, s.domain, s.now())
	}
	return s.sign, err
}

// Domain is the processor domain: X-OpenDSR-Processor-Domain.
func (s *Service) Domain() string { return s.domain }

// Certificate is the PEM certificate whose key signs answers and callbacks.
func (s *Service) Certificate(ctx context.Context) ([]byte, error) {
	sg, err := s.signer(ctx)
	if err != nil {
		return nil, err
	}
	return sg.certPEM, nil
}

// SignHeaders sets the signature and domain headers of a body.
func (s *Service) SignHeaders(ctx context.Context, h http.Header, body []byte) error {
	sg, err := s.signer(ctx)
	if err != nil {
		return err
	}
	sig := sg.Sign(body)
	h.Set(HeaderSignature, sig)
	h.Set(headerSignatureLegacy, sig)
	h.Set(HeaderDomain, s.domain)
	h.Set(headerDomainLegacy, s.domain)
	return nil
}

// CertificatePath is where the certificate is served.
const CertificatePath = "/privacy/certificate.pem"

// Discovery is the answer of GET /v1/privacy/discovery (§6.3).
type Discovery struct {
	APIVersion                   string              `json:"api_version"`
	SupportedIdentities          []DiscoveryIdentity `json:"supported_identities"`
	SupportedSubjectRequestTypes []string            `json:"supported_subject_request_types"`
	ProcessorCertificate         string              `json:"processor_certificate"`
}

// DiscoveryIdentity is an identity of discovery: without a value.
type DiscoveryIdentity struct {
	Type   string `json:"identity_type"`
	Format string `json:"identity_format"`
}

// Discovery describes what the processor supports.
func (s *Service) Discovery(ctx context.Context) (*Discovery, error) {
	cats, err := s.categories(ctx)
	if err != nil {
		return nil, err
	}
	ids := []DiscoveryIdentity{}
	for _, c := range cats {
		for _, f := range Formats {
			ids = append(ids, DiscoveryIdentity{c, f})
		}
	}
	return &Discovery{APIVersion, ids, RequestTypes, s.opts.BaseURL + CertificatePath}, nil
}

func (s *Service) categories(ctx context.Context) ([]string, error) {
	cats, err := s.opts.Categories(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the identifier categories in force: %w", err)
	}
	sort.Strings(cats)
	return cats, nil
}

// Created is the answer of a new request (§7.3); the signature is in the
// headers, over this body.
type Created struct {
	ControllerID           string `json:"controller_id"`
	ExpectedCompletionTime string `json:"expected_completion_time"`
	ReceivedTime           string `json:"received_time"`
	EncodedRequest         string `json:"encoded_request"`
	SubjectRequestID       string `json:"subject_request_id"`
}

// Create stores a request, pending, and triggers its processing.
func (s *Service) Create(ctx context.Context, body []byte) (*Created, error) {
	cats, err := s.categories(ctx)
	if err != nil {
		return nil, err
	}
	req, err := ParseRequest(body, cats)
	if err != nil {
		return nil, err
	}
	// The key pair exists before the request does: its answer is signed.
	if _, err := s.signer(ctx); err != nil {
		return nil, err
	}
	received := s.now()
	expected := received.Add(s.opts.ExpectedCompletion)
	if err := insertRecord(ctx, s.opts.DB, req, received, expected); err != nil {
		return nil, err
	}
	s.opts.Logger.Info("privacy request received", "subject_request_id", req.SubjectRequestID, "type", req.SubjectRequestType,
		"identities", len(req.SubjectIdentities), "callbacks", len(req.StatusCallbackURLs))
	if err := s.wake(ctx, "privacy request "+req.SubjectRequestID); err != nil {
		// Stored: the next run (at start, or the next request) takes it.
		s.opts.Logger.Error("privacy: trigger processing", "error", err)
	}
	return &Created{s.opts.ControllerID, stamp(expected), stamp(received), base64.StdEncoding.EncodeToString(body), req.SubjectRequestID}, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Status is the answer of GET /v1/privacy/requests/{id} (§8.3), with
// Weft's additions after the spec's fields.
type Status struct {
	ControllerID           string `json:"controller_id"`
	ExpectedCompletionTime string `json:"expected_completion_time"`
	SubjectRequestID       string `json:"subject_request_id"`
	RequestStatus          string `json:"request_status"`
	APIVersion             string `json:"api_version"`
	// ResultsURL is the export's JSON document (access, portability),
	// signed and expiring at URLsExpire.
	ResultsURL string `json:"results_url,omitempty"`
	// ResultsCount is the number of entities found.
	ResultsCount *int `json:"results_count,omitempty"`

	SubjectRequestType string `json:"subject_request_type"`
	SubmittedTime      string `json:"submitted_time"`
	ReceivedTime       string `json:"received_time"`
	CompletedTime      string `json:"completed_time,omitempty"`
	// EventsURL is the export's events as NDJSON.
	EventsURL  string  `json:"events_url,omitempty"`
	URLsExpire string  `json:"urls_expire,omitempty"`
	Result     *Result `json:"result,omitempty"`
	// Error is the last failure of an in_progress request, retried by the
	// next run.
	Error string `json:"error,omitempty"`
}

// Get returns the status of a request; store.ErrNotFound when unknown.
func (s *Service) Get(ctx context.Context, id string) (*Status, error) {
	r, err := getRecord(ctx, s.opts.DB, id)
	if err != nil {
		return nil, err
	}
	st := &Status{
		ControllerID: s.opts.ControllerID, ExpectedCompletionTime: stamp(r.Expected), SubjectRequestID: r.ID,
		RequestStatus: r.Status, APIVersion: APIVersion, SubjectRequestType: r.Type,
		SubmittedTime: stamp(r.Submitted), ReceivedTime: stamp(r.Received), Result: r.Result, Error: r.Error,
	}
	if r.Completed != nil {
		st.CompletedTime = stamp(*r.Completed)
	}
	if r.Result != nil {
		st.ResultsCount = &r.Result.EntitiesFound
	}
	if r.Status == StatusCompleted && r.Type != TypeErasure {
		exp := s.now().Add(s.opts.URLTTL)
		if st.ResultsURL, err = s.exportURL(ctx, r.ID, DocumentFile, exp); err != nil {
			return nil, err
		}
		if st.EventsURL, err = s.exportURL(ctx, r.ID, EventsFile, exp); err != nil {
			return nil, err
		}
		st.URLsExpire = stamp(exp)
	}
	return st, nil
}

// NotPendingError is a cancellation of a request that is no longer
// pending.
type NotPendingError struct{ Status string }

func (e *NotPendingError) Error() string {
	return fmt.Sprintf("the request is %s: only a pending request can be cancelled", e.Status)
}

// Cancelled is the answer of a cancellation (§9.2).
type Cancelled struct {
	ControllerID     string `json:"controller_id"`
	ReceivedTime     string `json:"received_time"`
	SubjectRequestID string `json:"subject_request_id"`
	APIVersion       string `json:"api_version"`
}

// Cancel cancels a pending request; store.ErrNotFound when unknown, a
// *NotPendingError when it started or ended.
func (s *Service) Cancel(ctx context.Context, id string) (*Cancelled, error) {
	now := s.now()
	ok, err := exec(ctx, s.opts.DB, s.opts.DB.Query("PrivacyRequestCancel"), id, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		r, err := getRecord(ctx, s.opts.DB, id)
		if err != nil {
			return nil, err
		}
		return nil, &NotPendingError{Status: r.Status}
	}
	s.opts.Logger.Info("privacy request cancelled", "subject_request_id", id)
	// The job sends the callbacks of the cancellation.
	if err := s.wake(ctx, "privacy request "+id+" cancelled"); err != nil {
		s.opts.Logger.Error("privacy: trigger processing", "error", err)
	}
	return &Cancelled{s.opts.ControllerID, stamp(now), id, APIVersion}, nil
}
