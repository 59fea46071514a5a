package delivery

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/encoding/protojson"
)

func TestBuildDefaults(t *testing.T) {
	t.Parallel()
	f := newFakeFactory()
	client, err := NewPromotedDeliveryClientBuilder().WithAPIFactory(f).Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	defer client.Close()
	if want := []any{"", "", int64(250), 1000, false, false}; !slices.Equal(f.deliveryArgs, want) {
		t.Errorf("delivery API created with %v, want %v", f.deliveryArgs, want)
	}
	if want := []any{"", "", int64(3000)}; !slices.Equal(f.metricsArgs, want) {
		t.Errorf("metrics API created with %v, want %v", f.metricsArgs, want)
	}
	if client.metricsQueueSize != MetricsQueueSizeDefault || client.maxRequestInsertions != 1000 {
		t.Errorf("queue size %d, max insertions %d; want defaults", client.metricsQueueSize, client.maxRequestInsertions)
	}
	if _, ok := client.sampler.(*DefaultSampler); !ok || client.blockingShadowTraffic || client.performChecks {
		t.Errorf("client = %+v, want a DefaultSampler and every flag off", client)
	}
}

func TestBuildPassesSettings(t *testing.T) {
	t.Parallel()
	f := newFakeFactory()
	checker := checkerFunc(true)
	client, err := NewPromotedDeliveryClientBuilder().WithAPIFactory(f).
		WithDeliveryEndpoint("https://delivery.example").WithDeliveryAPIKey("dk").WithDeliveryTimeoutMillis(40).
		WithMetricsEndpoint("https://metrics.example/log").WithMetricsAPIKey("mk").WithMetricsTimeoutMillis(900).
		WithMaxRequestInsertions(7).WithAcceptsGzip(true).WithWarmup(true).
		WithShadowTrafficDeliveryRate(0.25).WithBlockingShadowTraffic(true).WithPerformChecks(true).
		WithApplyTreatmentChecker(checker).WithSampler(fixedSampler{true}).WithMetricsQueueSize(5).
		Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	defer client.Close()
	if want := []any{"https://delivery.example", "dk", int64(40), 7, true, true}; !slices.Equal(f.deliveryArgs, want) {
		t.Errorf("delivery API created with %v, want %v", f.deliveryArgs, want)
	}
	if want := []any{"https://metrics.example/log", "mk", int64(900)}; !slices.Equal(f.metricsArgs, want) {
		t.Errorf("metrics API created with %v, want %v", f.metricsArgs, want)
	}
	if client.shadowTrafficDeliveryRate != 0.25 || !client.blockingShadowTraffic || !client.performChecks ||
		client.metricsQueueSize != 5 || client.maxRequestInsertions != 7 || client.sampler != (fixedSampler{true}) {
		t.Errorf("client = %+v, want the configured settings", client)
	}
	if client.deliveryAPI != f.api || client.metricsAPI != f.metrics || client.sdkDelivery != f.sdk {
		t.Error("client does not use the factory's implementations")
	}
}

func TestBuildWithoutFactoryUsesDefault(t *testing.T) {
	t.Parallel()
	client, err := NewPromotedDeliveryClientBuilder().
		WithDeliveryEndpoint("http://localhost:7700/anything").WithMetricsEndpoint("http://localhost:7700/log").
		WithMaxRequestInsertions(12).Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	defer client.Close()
	api, ok := client.deliveryAPI.(*PromotedDeliveryAPI)
	if !ok || api.deliverURL != "http://localhost:7700/deliver" || api.maxRequestInsertions != 12 {
		t.Errorf("delivery API = %#v, want a PromotedDeliveryAPI for http://localhost:7700/deliver", client.deliveryAPI)
	}
	if m, ok := client.metricsAPI.(*PromotedMetricsAPI); !ok || m.Endpoint != "http://localhost:7700/log" {
		t.Errorf("metrics API = %#v, want a PromotedMetricsAPI for the endpoint as given", client.metricsAPI)
	}
	if _, ok := client.sdkDelivery.(*SDKDelivery); !ok {
		t.Errorf("SDK delivery = %T, want *SDKDelivery", client.sdkDelivery)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	ok := "http://localhost:7700"
	f := &fakeFactory{}
	tests := []struct {
		name string
		b    *PromotedDeliveryClientBuilder
		want string
	}{
		{"rate below 0", NewPromotedDeliveryClientBuilder().WithAPIFactory(f).WithShadowTrafficDeliveryRate(-0.1),
			"shadowTrafficDeliveryRate must be between 0 and 1"},
		{"rate above 1", NewPromotedDeliveryClientBuilder().WithAPIFactory(f).WithShadowTrafficDeliveryRate(1.1),
			"shadowTrafficDeliveryRate must be between 0 and 1"},
		{"rate NaN", NewPromotedDeliveryClientBuilder().WithAPIFactory(f).WithShadowTrafficDeliveryRate(float32(math.NaN())),
			"shadowTrafficDeliveryRate must be between 0 and 1"},
		{"no delivery endpoint", NewPromotedDeliveryClientBuilder().WithMetricsEndpoint(ok + "/log"),
			"deliveryEndpoint must be set"},
		{"no metrics endpoint", NewPromotedDeliveryClientBuilder().WithDeliveryEndpoint(ok),
			"metricsEndpoint must be set"},
		{"relative delivery endpoint", NewPromotedDeliveryClientBuilder().WithAPIFactory(f).WithDeliveryEndpoint("localhost:7700"),
			`deliveryEndpoint "localhost:7700": want an absolute http or https URL`},
		{"bad metrics scheme", NewPromotedDeliveryClientBuilder().WithDeliveryEndpoint(ok).WithMetricsEndpoint("ftp://h/log"),
			`metricsEndpoint "ftp://h/log": want an absolute http or https URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, err := tt.b.Build()
			checkFailure(t, client, err, tt.want)
		})
	}
}

// TestClientOverHTTP runs Deliver through the real HTTP APIs against a
// server playing both the Delivery and the Metrics API.
func TestClientOverHTTP(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	srv := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/log":
			respond(http.StatusOK, `{}`)(w, r)
		case failing.Load():
			respond(http.StatusServiceUnavailable, "down")(w, r)
		default:
			respond(http.StatusOK, `{"requestId":"srv","insertion":[{"contentId":"1","insertionId":"a","position":"0"}]}`)(w, r)
		}
	})
	client, err := NewPromotedDeliveryClientBuilder().
		WithDeliveryEndpoint(srv.URL).WithDeliveryAPIKey("k").
		WithMetricsEndpoint(srv.URL + "/log").WithMetricsAPIKey("k").
		WithLogger(testLogger(t)).Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	treatment := treatmentArm()
	resp, err := client.Deliver(&DeliveryRequest{Request: testRequest(2), Experiment: treatment})
	if err != nil || resp.ExecutionServer != pb.ExecutionServer_API || resp.Response.RequestId != "srv" {
		t.Fatalf("Deliver = %v, %v; want the API's response", resp, err)
	}
	failing.Store(true)
	fallback, err := client.Deliver(&DeliveryRequest{Request: testRequest(2), Experiment: treatment})
	var httpErr *HTTPError
	if err != nil || fallback.ExecutionServer != pb.ExecutionServer_SDK || !errors.As(fallback.APIError, &httpErr) {
		t.Fatalf("Deliver on a failing API = %v, %v; want SDK delivery with the HTTP error", fallback, err)
	}
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var deliveryLogs, cohorts int
	for _, r := range srv.requests() {
		if r.path != "/log" {
			continue
		}
		lr := &ev.LogRequest{}
		if err := protojson.Unmarshal(r.body, lr); err != nil {
			t.Fatalf("LogRequest body: %v", err)
		}
		deliveryLogs += len(lr.DeliveryLog)
		cohorts += len(lr.CohortMembership)
	}
	if deliveryLogs != 1 || cohorts != 2 {
		t.Errorf("logged %d delivery logs and %d cohort memberships, want 1 (the fallback) and 2", deliveryLogs, cohorts)
	}
}
