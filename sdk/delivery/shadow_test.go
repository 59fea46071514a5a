package delivery

import (
	"slices"
	"testing"
	"time"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	ev "github.com/promotedai/schema/generated/go/proto/event"
)

func TestShadowTraffic(t *testing.T) {
	t.Parallel()
	control, treatment := controlArm(), treatmentArm()
	tests := []struct {
		name       string
		onlyLog    bool
		experiment *ev.CohortMembership
		samplesIn  bool
		rate       float32
		wantShadow bool
	}{
		{"only log sampled in", true, nil, true, 0.5, true},
		{"user in control", false, control, true, 0.5, true},
		{"only log sampled out", true, nil, false, 0.5, false},
		{"user in treatment", false, treatment, true, 0.5, false},
		{"only log turned off", true, nil, true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tc := newTestClient(t, testClientOpts{shadowRate: tt.rate, sampler: fixedSampler{tt.samplesIn}})
			dr := &DeliveryRequest{Request: testRequest(3), OnlyLog: tt.onlyLog, Experiment: tt.experiment}
			if _, err := tc.Deliver(dr); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			calls := tc.api.requests()
			if tt.wantShadow {
				checkShadowCall(t, tc, dr)
				return
			}
			wantAPI := tt.experiment == treatment
			if (len(calls) == 1) != wantAPI || (wantAPI && calls[0] != dr) {
				t.Errorf("API calls %v, want the production request only: %v", calls, wantAPI)
			}
			if wantAPI && len(tc.sdk.requests()) != 0 {
				t.Errorf("SDK delivery called on the treatment path")
			}
		})
	}
}

// checkShadowCall checks that the SDK delivered dr itself and that the API
// got one deep copy marked SHADOW, while dr and its log stay PRODUCTION.
func checkShadowCall(t *testing.T, tc *testClient, dr *DeliveryRequest) {
	t.Helper()
	if sdk := tc.sdk.requests(); len(sdk) != 1 || sdk[0] != dr {
		t.Errorf("SDK got %v, want the caller's own DeliveryRequest", sdk)
	}
	calls := tc.api.requests()
	if len(calls) != 1 {
		t.Fatalf("API called %d times, want 1 shadow call", len(calls))
	}
	shadow := calls[0]
	if shadow == dr || shadow.Request == dr.Request {
		t.Fatal("shadow call shares the production request")
	}
	if tc.api.traffic[0] != cm.ClientInfo_SHADOW || shadow.Request.ClientInfo.ClientType != cm.ClientInfo_PLATFORM_SERVER {
		t.Errorf("shadow client info = %v, want PLATFORM_SERVER/SHADOW", shadow.Request.ClientInfo)
	}
	if !slices.Equal(contentIDs(shadow.Request.Insertion), contentIDs(dr.Request.Insertion)) {
		t.Errorf("shadow insertions %q, want the request's %q", contentIDs(shadow.Request.Insertion), contentIDs(dr.Request.Insertion))
	}
	if shadow.Request.RequestId == "" || shadow.Request.RequestId != dr.Request.RequestId {
		t.Errorf("shadow request id %q, want the SDK-assigned %q", shadow.Request.RequestId, dr.Request.RequestId)
	}
	if dr.Request.ClientInfo.TrafficType != cm.ClientInfo_PRODUCTION {
		t.Errorf("production request traffic type = %v, want PRODUCTION", dr.Request.ClientInfo.TrafficType)
	}
	for _, lr := range tc.flushedLogs(t) {
		if lr.ClientInfo.GetTrafficType() != cm.ClientInfo_PRODUCTION ||
			lr.DeliveryLog[0].Request.ClientInfo.GetTrafficType() != cm.ClientInfo_PRODUCTION {
			t.Errorf("logged traffic type is not PRODUCTION: %v", lr)
		}
	}
}

// Background shadow traffic runs after Deliver returns; Close waits for it.
func TestBackgroundShadowTrafficWaitsForClose(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	api := &gatedDelivery{gate: release}
	client := &PromotedDeliveryClient{
		deliveryAPI: api, metricsAPI: &recordingMetrics{}, logger: testLogger(t),
		shadowTrafficDeliveryRate: 1, sampler: fixedSampler{true},
	}
	if _, err := client.Deliver(&DeliveryRequest{Request: testRequest(2), OnlyLog: true}); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	closed := make(chan error)
	go func() { closed <- client.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while shadow traffic was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := api.calls.Load(); got != 1 {
		t.Errorf("shadow calls = %d, want 1", got)
	}
}
