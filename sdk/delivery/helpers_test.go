package delivery

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
)

// recordingDelivery is a DeliveryAPI that records every request it gets
// and answers with resp (or err).
type recordingDelivery struct {
	mu    sync.Mutex
	calls []*DeliveryRequest
	// traffic is the traffic type each call had when it arrived, since
	// the caller may change the request afterwards.
	traffic []cm.ClientInfo_TrafficType
	resp    *pb.Response
	err     error
}

func (d *recordingDelivery) RunDelivery(dr *DeliveryRequest) (*pb.Response, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, dr)
	d.traffic = append(d.traffic, dr.Request.GetClientInfo().GetTrafficType())
	return d.resp, d.err
}

func (d *recordingDelivery) requests() []*DeliveryRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*DeliveryRequest(nil), d.calls...)
}

// spySDK wraps the real SDK pager and records which requests it paged.
type spySDK struct {
	recordingDelivery
}

func (s *spySDK) RunDelivery(dr *DeliveryRequest) (*pb.Response, error) {
	s.recordingDelivery.RunDelivery(dr)
	return NewSDKDelivery().RunDelivery(dr)
}

// recordingMetrics is a MetricsAPI that records LogRequests. When gate is
// set, each call first reports on started and then waits for gate.
type recordingMetrics struct {
	mu      sync.Mutex
	logs    []*ev.LogRequest
	err     error
	started chan struct{}
	gate    chan struct{}
}

func (m *recordingMetrics) RunMetricsLogging(lr *ev.LogRequest) error {
	if m.gate != nil {
		m.started <- struct{}{}
		<-m.gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logs = append(m.logs, lr)
	return m.err
}

func (m *recordingMetrics) received() []*ev.LogRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*ev.LogRequest(nil), m.logs...)
}

// controlArm and treatmentArm are experiments of the cohort HOLD_OUT.
func controlArm() *ev.CohortMembership {
	return &ev.CohortMembership{CohortId: "HOLD_OUT", Arm: ev.CohortArm_CONTROL}
}

func treatmentArm() *ev.CohortMembership {
	return &ev.CohortMembership{CohortId: "HOLD_OUT", Arm: ev.CohortArm_TREATMENT}
}

// fixedSampler always answers samplesIn.
type fixedSampler struct{ samplesIn bool }

func (s fixedSampler) SampleRandom(float32) bool { return s.samplesIn }

// countingValidator counts its calls and finds nothing wrong.
type countingValidator struct {
	mu    sync.Mutex
	calls int
}

func (v *countingValidator) Validate(*DeliveryRequest) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls++
	return nil
}

// testInsertions returns n request insertions with content ids "0".."n-1".
func testInsertions(n int) []*pb.Insertion {
	out := make([]*pb.Insertion, n)
	for i := range out {
		out[i] = &pb.Insertion{ContentId: fmt.Sprint(i)}
	}
	return out
}

// testRequest is a valid request with n insertions.
func testRequest(n int) *pb.Request {
	return &pb.Request{
		UserInfo:  &cm.UserInfo{AnonUserId: "anon"},
		Insertion: testInsertions(n),
	}
}

// apiResponse answers with the given content ids at positions 0.. and a
// request id.
func apiResponse(contentIDs ...string) *pb.Response {
	resp := &pb.Response{RequestId: "api-request"}
	for i, id := range contentIDs {
		pos := uint64(i)
		resp.Insertion = append(resp.Insertion, &pb.Insertion{ContentId: id, InsertionId: "api-" + id, Position: &pos})
	}
	return resp
}

func contentIDs(insertions []*pb.Insertion) []string {
	ids := make([]string, len(insertions))
	for i, ins := range insertions {
		ids[i] = ins.GetContentId()
	}
	return ids
}

func positions(insertions []*pb.Insertion) []uint64 {
	out := make([]uint64, len(insertions))
	for i, ins := range insertions {
		out[i] = ins.GetPosition()
	}
	return out
}

// testClient is a client over fakes, closed when the test ends.
type testClient struct {
	*PromotedDeliveryClient
	api     *recordingDelivery
	sdk     *spySDK
	metrics *recordingMetrics
}

// testClientOpts change newTestClient's defaults (no experiment checker,
// no shadow traffic).
type testClientOpts struct {
	checker     ApplyTreatmentChecker
	shadowRate  float32
	sampler     Sampler
	checks      bool
	apiErr      error
	apiResponse *pb.Response
	queueSize   int
	metrics     *recordingMetrics
}

func newTestClient(t *testing.T, opts testClientOpts) *testClient {
	t.Helper()
	tc := &testClient{
		api:     &recordingDelivery{resp: opts.apiResponse, err: opts.apiErr},
		sdk:     &spySDK{},
		metrics: opts.metrics,
	}
	if tc.api.resp == nil && tc.api.err == nil {
		tc.api.resp = apiResponse("2", "1", "0")
	}
	if tc.metrics == nil {
		tc.metrics = &recordingMetrics{}
	}
	client, err := NewPromotedDeliveryClientBuilder().
		WithAPIFactory(&fakeFactory{api: tc.api, sdk: tc.sdk, metrics: tc.metrics}).
		WithApplyTreatmentChecker(opts.checker).
		WithShadowTrafficDeliveryRate(opts.shadowRate).
		WithSampler(opts.sampler).
		WithBlockingShadowTraffic(true).
		WithPerformChecks(opts.checks).
		WithMetricsQueueSize(opts.queueSize).
		WithLogger(testLogger(t)).
		Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	tc.PromotedDeliveryClient = client
	t.Cleanup(func() { client.Close() })
	return tc
}

// flushedLogs closes the client and returns what reached the Metrics API.
func (tc *testClient) flushedLogs(t *testing.T) []*ev.LogRequest {
	t.Helper()
	if err := tc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return tc.metrics.received()
}

func newFakeFactory() *fakeFactory {
	return &fakeFactory{api: &recordingDelivery{}, sdk: &spySDK{}, metrics: &recordingMetrics{}}
}

// fakeFactory hands out the given fakes and records the parameters it was
// called with.
type fakeFactory struct {
	api     DeliveryAPI
	sdk     DeliveryAPI
	metrics MetricsAPI

	deliveryArgs []any
	metricsArgs  []any
}

func (f *fakeFactory) CreateSDKDelivery() DeliveryAPI { return f.sdk }

func (f *fakeFactory) CreateDeliveryAPI(endpoint, apiKey string, timeoutMillis int64, maxRequestInsertions int, acceptGzip, warmup bool) DeliveryAPI {
	f.deliveryArgs = []any{endpoint, apiKey, timeoutMillis, maxRequestInsertions, acceptGzip, warmup}
	return f.api
}

func (f *fakeFactory) CreateMetricsAPI(endpoint, apiKey string, timeoutMillis int64) MetricsAPI {
	f.metricsArgs = []any{endpoint, apiKey, timeoutMillis}
	return f.metrics
}

// testLogger logs through t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// logCapture is a logger that keeps its lines, for asserting on warnings.
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, string(p))
	return len(p), nil
}

func (c *logCapture) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "")
}

func (c *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(c, nil))
}

// gatedDelivery is a DeliveryAPI whose calls wait for gate to close.
type gatedDelivery struct {
	gate  chan struct{}
	calls atomic.Int64
}

func (d *gatedDelivery) RunDelivery(*DeliveryRequest) (*pb.Response, error) {
	<-d.gate
	d.calls.Add(1)
	return apiResponse("0"), nil
}

// checkFailure checks that a call failed with exactly the message want and
// returned no result.
func checkFailure[T any](t *testing.T, result *T, err error, want string) {
	t.Helper()
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	if result != nil {
		t.Errorf("result = %v, want nil", result)
	}
}
