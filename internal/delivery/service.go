package delivery

import (
	"context"
	"github.com/google/uuid"
	"log/slog"
	"sync/atomic"
	"time"

	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/rank"
	"github.com/weftdata/weft/internal/store"
)

// Ranker orders the insertions of a request for its user: best first,
// one rank.Scored per insertion (Index into ins; Filtered ones are not
// served), the same answer for the same inputs. It must not wait on the
// database. *rank.Ranker is one.
type Ranker interface {
	Rank(req *pb.Request, ins []*pb.Insertion) []rank.Scored
}

// PropertyReader is optionally implemented by a Ranker that reads only
// some insertion properties: the others are not decoded.
type PropertyReader interface {
	PropertyKeys() map[string]bool
}

// Insertion ids come from a buffered pool of randomness: crypto/rand
// once per id was the dearest part of serving a page.
func init() { uuid.EnableRandPool() }

// EntityFinder is optionally implemented by a Ranker that can say which
// stitched entity a request's user is; introspection data then shows it.
type EntityFinder interface {
	Entity(req *pb.Request) (string, bool)
}

// Options configure a Service; zero values take the defaults.
type Options struct {
	// Ingester appends the Metrics API's records and the delivery logs.
	Ingester *event.Ingester
	// Ranker orders insertions; nil serves them in request order.
	Ranker Ranker
	// Reload, when set, is called every delivery.refresh to pick up a
	// config applied by another process (it should end in SetConfig, as
	// pipeline.Pipeline.Config does through Watch).
	Reload func(ctx context.Context) error
	// Appended is told how many events /log appended (to wake stitching);
	// the API's own delivery logs wait for the periodic stitching pass.
	Appended func(n int)
	// LogQueue bounds the delivery logs waiting to be written. Default
	// LogQueueDefault.
	LogQueue int
	// PagingCacheBytes bounds the paging cache. Default
	// PagingCacheBytesDefault.
	PagingCacheBytes int64
	// ServedInsertions bounds the insertionId to contentId map. Default
	// ServedInsertionsDefault.
	ServedInsertions int
	// PseudonymKey is the key of the pseudonyms of userIds
	// (delivery.pseudonymize_user_id; see PseudonymKey). Default: a
	// random key of this process.
	PseudonymKey []byte
	// Now is the clock (tests move it). Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the Delivery API and the Metrics API without HTTP.
type Service struct {
	opts     Options
	settings atomic.Pointer[settings]
	pager    *pager
	served   *servedMap
	writer   *logWriter
	log      *slog.Logger
}

// settings are what requests need of the delivery config, kept in memory
// so that no request reads the database.
type settings struct {
	keys      []string
	pagingTTL time.Duration
	nonKey    map[string]bool
	refresh   time.Duration
	// pseudonymize replaces userIds with pseudonyms in the stored events.
	pseudonymize bool
}

// New returns a Service with the default delivery config until SetConfig.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LogQueue <= 0 {
		opts.LogQueue = LogQueueDefault
	}
	if opts.PagingCacheBytes <= 0 {
		opts.PagingCacheBytes = PagingCacheBytesDefault
	}
	if opts.ServedInsertions <= 0 {
		opts.ServedInsertions = ServedInsertionsDefault
	}
	if opts.PseudonymKey == nil {
		opts.PseudonymKey = randomKey()
	}
	s := &Service{
		opts:   opts,
		pager:  newPager(opts.PagingCacheBytes, opts.Now),
		served: newServedMap(opts.ServedInsertions),
		log:    opts.Logger,
	}
	s.writer = &logWriter{in: opts.Ingester, queue: make(chan *ev.LogRequest, opts.LogQueue),
		log:     opts.Logger,
		convert: func(lr *ev.LogRequest) []store.EventInsert { return s.events(lr, s.opts.Now()) }}
	s.SetConfig(&config.Config{})
	return s
}

// SetConfig puts a config's delivery section in force (give it to
// pipeline.Pipeline.Watch).
func (s *Service) SetConfig(cfg *config.Config) {
	d := &cfg.Delivery
	st := &settings{
		keys:         d.APIKeys,
		pagingTTL:    d.PagingTTLOrDefault(),
		nonKey:       make(map[string]bool, len(d.NonKeyProperties)),
		refresh:      d.RefreshOrDefault(),
		pseudonymize: d.PseudonymizeUserID,
	}
	for _, p := range d.NonKeyProperties {
		st.nonKey[p] = true
	}
	s.settings.Store(st)
}

// APIKeys are the keys of delivery.api_keys; empty means the server's own.
func (s *Service) APIKeys() []string { return s.settings.Load().keys }

// DroppedLogs counts the delivery logs dropped because the queue was full
// or the store failed.
func (s *Service) DroppedLogs() int64 { return s.writer.dropped.Load() }

// Run writes delivery logs in the background and reloads the config every
// delivery.refresh, until ctx ends; then it writes what is queued and
// returns.
func (s *Service) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.writer.run(ctx)
	}()
	defer func() { <-done }()
	if s.opts.Reload == nil {
		<-ctx.Done()
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.settings.Load().refresh):
			if err := s.opts.Reload(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("reload delivery config", "error", err)
			}
		}
	}
}

// Log is the Metrics API: it appends one event per record of a LogRequest
// and returns once they are durable.
func (s *Service) Log(ctx context.Context, body []byte) error {
	lr, err := decodeLogRequest(body)
	if err != nil {
		return err
	}
	events := s.events(lr, s.opts.Now())
	if len(events) == 0 {
		return nil
	}
	// Without Index, a rejection's index is the position in events.
	res, err := s.opts.Ingester.Ingest(ctx, &event.Batch{Events: events, Records: len(events)})
	if err != nil {
		return err
	}
	if len(res.Rejected) > 0 {
		first := res.Rejected[0]
		return fieldError("body", "%d records refused, the others stored; the first, a %s: %v", len(res.Rejected), events[first.Index].Type, first)
	}
	if res.Accepted > 0 && s.opts.Appended != nil {
		s.opts.Appended(res.Accepted)
	}
	return nil
}
