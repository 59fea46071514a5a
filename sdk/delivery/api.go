package delivery

import (
	"log/slog"

	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
)

// DeliveryAPI produces a ranked page of insertions for a request. Both the
// HTTP client of the Delivery API (PromotedDeliveryAPI) and the SDK-side
// pager (SDKDelivery) implement it.
type DeliveryAPI interface {
	RunDelivery(deliveryRequest *DeliveryRequest) (*pb.Response, error)
}

// MetricsAPI sends a LogRequest to the Metrics API.
type MetricsAPI interface {
	RunMetricsLogging(logRequest *ev.LogRequest) error
}

// APIFactory creates the three collaborators of a client. Tests inject
// fakes through it; production code uses DefaultAPIFactory.
type APIFactory interface {
	CreateSDKDelivery() DeliveryAPI
	CreateDeliveryAPI(endpoint, apiKey string, timeoutMillis int64, maxRequestInsertions int, acceptGzip, warmup bool) DeliveryAPI
	CreateMetricsAPI(endpoint, apiKey string, timeoutMillis int64) MetricsAPI
}

// DefaultAPIFactory creates the HTTP clients of the Delivery and Metrics
// APIs and the SDK-side pager. Logger receives warmup and transport
// messages; nil means slog.Default().
type DefaultAPIFactory struct {
	Logger *slog.Logger
}

var _ APIFactory = (*DefaultAPIFactory)(nil)

// CreateSDKDelivery returns a new SDKDelivery.
func (f *DefaultAPIFactory) CreateSDKDelivery() DeliveryAPI {
	return NewSDKDelivery()
}

// CreateDeliveryAPI returns a PromotedDeliveryAPI. With warmup set it
// opens the connection pool before returning.
func (f *DefaultAPIFactory) CreateDeliveryAPI(endpoint, apiKey string, timeoutMillis int64, maxRequestInsertions int, acceptGzip, warmup bool) DeliveryAPI {
	api := newPromotedDeliveryAPI(endpoint, apiKey, timeoutMillis, maxRequestInsertions, acceptGzip, f.logger())
	if warmup {
		api.warmup()
	}
	return api
}

// CreateMetricsAPI returns a PromotedMetricsAPI.
func (f *DefaultAPIFactory) CreateMetricsAPI(endpoint, apiKey string, timeoutMillis int64) MetricsAPI {
	return NewPromotedMetricsAPI(endpoint, apiKey, timeoutMillis)
}

func (f *DefaultAPIFactory) logger() *slog.Logger {
	if f == nil || f.Logger == nil {
		return slog.Default()
	}
	return f.Logger
}

// ApplyTreatmentChecker decides whether a request is in the treatment arm
// of an experiment (true: call the Delivery API) or in control (false:
// deliver SDK-side). It is consulted for every request, including those
// without an experiment.
type ApplyTreatmentChecker interface {
	ShouldApplyTreatment(cohortMembership *ev.CohortMembership) bool
}

// ApplyTreatmentCheckerFunc lets a plain function serve as an
// ApplyTreatmentChecker, as the README's "function interface" suggests.
type ApplyTreatmentCheckerFunc func(cohortMembership *ev.CohortMembership) bool

// ShouldApplyTreatment calls f.
func (f ApplyTreatmentCheckerFunc) ShouldApplyTreatment(cohortMembership *ev.CohortMembership) bool {
	return f(cohortMembership)
}
