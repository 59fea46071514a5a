package delivery

import (
	"net/http"
	"time"

	ev "github.com/promotedai/schema/generated/go/proto/event"
)

// PromotedMetricsAPI posts LogRequests to the Metrics API as protojson.
// Endpoint is used verbatim (Promoted's real endpoints end in /log). Any
// 2xx counts as success and the body is ignored. A nil HTTPClient or a
// TimeoutDuration <= 0 fall back to the defaults of NewPromotedMetricsAPI.
type PromotedMetricsAPI struct {
	Endpoint        string
	APIKey          string
	HTTPClient      *http.Client
	TimeoutDuration time.Duration
}

// NewPromotedMetricsAPI returns a Metrics API client; timeoutMillis <= 0
// means 3000 ms.
func NewPromotedMetricsAPI(endpoint, apiKey string, timeoutMillis int64) *PromotedMetricsAPI {
	timeout := millis(timeoutMillis, MetricsTimeoutMillisDefault)
	return &PromotedMetricsAPI{
		Endpoint:        endpoint,
		APIKey:          apiKey,
		HTTPClient:      &http.Client{Timeout: timeout, Transport: newTransport()},
		TimeoutDuration: timeout,
	}
}

// RunMetricsLogging sends one LogRequest.
func (m *PromotedMetricsAPI) RunMetricsLogging(logRequest *ev.LogRequest) error {
	s := httpSender{client: m.HTTPClient, apiKey: m.APIKey, timeout: m.TimeoutDuration}
	if s.client == nil {
		s.client = http.DefaultClient
	}
	if s.timeout <= 0 {
		s.timeout = millis(0, MetricsTimeoutMillisDefault)
	}
	_, err := s.postProto(m.Endpoint, logRequest)
	return err
}
