package delivery

import (
	"errors"
	"log/slog"
)

// Defaults of the builder; zero or negative settings mean these.
const (
	DeliveryTimeoutMillisDefault int64 = 250
	MetricsTimeoutMillisDefault  int64 = 3000
	MaxRequestInsertionsDefault        = 1000
	// MetricsQueueSizeDefault is how many LogRequests may wait for the
	// Metrics API before new ones are dropped.
	MetricsQueueSizeDefault = 1000
)

var errShadowRate = errors.New("shadowTrafficDeliveryRate must be between 0 and 1")

// PromotedDeliveryClientBuilder configures a PromotedDeliveryClient. Each
// With method sets one parameter and returns the builder for chaining.
type PromotedDeliveryClientBuilder struct {
	deliveryEndpoint          string
	deliveryAPIKey            string
	deliveryTimeoutMillis     int64
	metricsEndpoint           string
	metricsAPIKey             string
	metricsTimeoutMillis      int64
	warmup                    bool
	applyTreatmentChecker     ApplyTreatmentChecker
	maxRequestInsertions      int
	shadowTrafficDeliveryRate float32
	blockingShadowTraffic     bool
	sampler                   Sampler
	apiFactory                APIFactory
	performChecks             bool
	acceptsGzip               bool
	metricsQueueSize          int
	logger                    *slog.Logger
}

// NewPromotedDeliveryClientBuilder returns a builder with every parameter
// at its default.
func NewPromotedDeliveryClientBuilder() *PromotedDeliveryClientBuilder {
	return &PromotedDeliveryClientBuilder{}
}

// WithDeliveryEndpoint sets the Delivery API endpoint; only its scheme and
// host are used, requests go to /deliver.
func (b *PromotedDeliveryClientBuilder) WithDeliveryEndpoint(endpoint string) *PromotedDeliveryClientBuilder {
	b.deliveryEndpoint = endpoint
	return b
}

// WithDeliveryAPIKey sets the x-api-key sent to the Delivery API.
func (b *PromotedDeliveryClientBuilder) WithDeliveryAPIKey(apiKey string) *PromotedDeliveryClientBuilder {
	b.deliveryAPIKey = apiKey
	return b
}

// WithDeliveryTimeoutMillis sets the Delivery API timeout (default 250).
func (b *PromotedDeliveryClientBuilder) WithDeliveryTimeoutMillis(timeoutMillis int64) *PromotedDeliveryClientBuilder {
	b.deliveryTimeoutMillis = timeoutMillis
	return b
}

// WithMetricsEndpoint sets the Metrics API endpoint, used verbatim.
func (b *PromotedDeliveryClientBuilder) WithMetricsEndpoint(endpoint string) *PromotedDeliveryClientBuilder {
	b.metricsEndpoint = endpoint
	return b
}

// WithMetricsAPIKey sets the x-api-key sent to the Metrics API.
func (b *PromotedDeliveryClientBuilder) WithMetricsAPIKey(apiKey string) *PromotedDeliveryClientBuilder {
	b.metricsAPIKey = apiKey
	return b
}

// WithMetricsTimeoutMillis sets the Metrics API timeout (default 3000).
func (b *PromotedDeliveryClientBuilder) WithMetricsTimeoutMillis(timeoutMillis int64) *PromotedDeliveryClientBuilder {
	b.metricsTimeoutMillis = timeoutMillis
	return b
}

// WithWarmup makes Build open the Delivery API's connection pool with 20
// concurrent health checks (default false). Failures are only logged.
func (b *PromotedDeliveryClientBuilder) WithWarmup(warmup bool) *PromotedDeliveryClientBuilder {
	b.warmup = warmup
	return b
}

// WithApplyTreatmentChecker replaces the arm check that decides whether a
// request calls the Delivery API.
func (b *PromotedDeliveryClientBuilder) WithApplyTreatmentChecker(checker ApplyTreatmentChecker) *PromotedDeliveryClientBuilder {
	b.applyTreatmentChecker = checker
	return b
}

// WithMaxRequestInsertions sets how many request insertions at most are
// sent to the Delivery API (default 1000).
func (b *PromotedDeliveryClientBuilder) WithMaxRequestInsertions(max int) *PromotedDeliveryClientBuilder {
	b.maxRequestInsertions = max
	return b
}

// WithShadowTrafficDeliveryRate sets the share in [0,1] of requests that do
// not call the Delivery API but send it a shadow copy (default 0).
func (b *PromotedDeliveryClientBuilder) WithShadowTrafficDeliveryRate(rate float32) *PromotedDeliveryClientBuilder {
	b.shadowTrafficDeliveryRate = rate
	return b
}

// WithBlockingShadowTraffic makes Deliver wait for the shadow call
// (default false: it runs in the background).
func (b *PromotedDeliveryClientBuilder) WithBlockingShadowTraffic(blocking bool) *PromotedDeliveryClientBuilder {
	b.blockingShadowTraffic = blocking
	return b
}

// WithSampler replaces the random sampler of shadow traffic.
func (b *PromotedDeliveryClientBuilder) WithSampler(sampler Sampler) *PromotedDeliveryClientBuilder {
	b.sampler = sampler
	return b
}

// WithAPIFactory replaces the factory of the Delivery, Metrics and SDK
// delivery implementations (default &DefaultAPIFactory{}).
func (b *PromotedDeliveryClientBuilder) WithAPIFactory(factory APIFactory) *PromotedDeliveryClientBuilder {
	b.apiFactory = factory
	return b
}

// WithPerformChecks makes Deliver validate requests and log the problems
// (default false). Problems never block delivery.
func (b *PromotedDeliveryClientBuilder) WithPerformChecks(performChecks bool) *PromotedDeliveryClientBuilder {
	b.performChecks = performChecks
	return b
}

// WithAcceptsGzip asks the Delivery API for gzip responses (default false).
func (b *PromotedDeliveryClientBuilder) WithAcceptsGzip(acceptsGzip bool) *PromotedDeliveryClientBuilder {
	b.acceptsGzip = acceptsGzip
	return b
}

// WithMetricsQueueSize sets how many LogRequests may wait for the Metrics
// API (default 1000); when full, new ones are dropped.
func (b *PromotedDeliveryClientBuilder) WithMetricsQueueSize(size int) *PromotedDeliveryClientBuilder {
	b.metricsQueueSize = size
	return b
}

// WithLogger sets where the client logs (default slog.Default()).
func (b *PromotedDeliveryClientBuilder) WithLogger(logger *slog.Logger) *PromotedDeliveryClientBuilder {
	b.logger = logger
	return b
}

// Build checks the configuration and creates the client. Without
// WithAPIFactory both endpoints are required; set endpoints must be
// absolute http(s) URLs.
func (b *PromotedDeliveryClientBuilder) Build() (*PromotedDeliveryClient, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	logger := b.logger
	if logger == nil {
		logger = slog.Default()
	}
	factory := b.apiFactory
	if factory == nil {
		factory = &DefaultAPIFactory{Logger: logger}
	}
	maxInsertions := b.maxRequestInsertions
	if maxInsertions <= 0 {
		maxInsertions = MaxRequestInsertionsDefault
	}
	sampler := b.sampler
	if sampler == nil {
		sampler = NewDefaultSampler()
	}
	return &PromotedDeliveryClient{
		deliveryAPI: factory.CreateDeliveryAPI(b.deliveryEndpoint, b.deliveryAPIKey,
			positiveOr(b.deliveryTimeoutMillis, DeliveryTimeoutMillisDefault), maxInsertions, b.acceptsGzip, b.warmup),
		metricsAPI: factory.CreateMetricsAPI(b.metricsEndpoint, b.metricsAPIKey,
			positiveOr(b.metricsTimeoutMillis, MetricsTimeoutMillisDefault)),
		sdkDelivery:               factory.CreateSDKDelivery(),
		maxRequestInsertions:      maxInsertions,
		applyTreatmentChecker:     b.applyTreatmentChecker,
		shadowTrafficDeliveryRate: b.shadowTrafficDeliveryRate,
		sampler:                   sampler,
		performChecks:             b.performChecks,
		blockingShadowTraffic:     b.blockingShadowTraffic,
		metricsQueueSize:          positiveOr(b.metricsQueueSize, MetricsQueueSizeDefault),
		logger:                    logger,
	}, nil
}

func (b *PromotedDeliveryClientBuilder) validate() error {
	// Written so that NaN fails too.
	if !(b.shadowTrafficDeliveryRate >= 0 && b.shadowTrafficDeliveryRate <= 1) {
		return errShadowRate
	}
	required := b.apiFactory == nil
	if err := checkEndpoint("deliveryEndpoint", b.deliveryEndpoint, required); err != nil {
		return err
	}
	return checkEndpoint("metricsEndpoint", b.metricsEndpoint, required)
}

func checkEndpoint(name, endpoint string, required bool) error {
	if endpoint == "" {
		if required {
			return errors.New(name + " must be set")
		}
		return nil
	}
	_, err := parseEndpoint(name, endpoint)
	return err
}

func positiveOr[N int | int64](v, def N) N {
	if v <= 0 {
		return def
	}
	return v
}
