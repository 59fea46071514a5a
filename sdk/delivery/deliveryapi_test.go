package delivery

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

const okResponse = `{"requestId":"r1","insertion":[{"contentId":"1","insertionId":"i1","position":"0"}]}`

// wireRequest is a request with every kind of field whose JSON form
// differs between encoding/json and protojson.
func wireRequest(t *testing.T) *pb.Request {
	props, err := structpb.NewStruct(map[string]any{"price": 100})
	if err != nil {
		t.Fatal(err)
	}
	req := testRequest(2)
	req.ClientRequestId = "c1"
	req.ClientInfo = &cm.ClientInfo{ClientType: cm.ClientInfo_PLATFORM_SERVER, TrafficType: cm.ClientInfo_PRODUCTION}
	req.Timing = &cm.Timing{ClientLogTimestamp: 1795347240269}
	req.UseCase = pb.UseCase_SEARCH
	req.Paging = NewPaging(2, 1)
	req.Insertion[0].Properties = &cm.Properties{StructField: &cm.Properties_Struct{Struct: props}}
	return req
}

func TestDeliveryAPISendsCanonicalJSON(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, respond(http.StatusOK, okResponse))
	api := NewPromotedDeliveryAPI(srv.URL+"/ignored/path?x=1", "key1", 0, 0, false, false)
	req := wireRequest(t)
	resp, err := api.RunDelivery(&DeliveryRequest{Request: req})
	if err != nil {
		t.Fatalf("RunDelivery: %v", err)
	}
	if resp.RequestId != "r1" || resp.Insertion[0].GetPosition() != 0 || resp.Insertion[0].ContentId != "1" {
		t.Errorf("response = %v", resp)
	}
	got := srv.only(t)
	if got.method != http.MethodPost || got.path != "/deliver" || got.query != "" {
		t.Errorf("request line = %s %s?%s, want POST /deliver (configured path dropped)", got.method, got.path, got.query)
	}
	for name, want := range map[string]string{"Content-Type": "application/json", "X-Api-Key": "key1", "Accept-Encoding": ""} {
		if v := got.header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
	sent := &pb.Request{}
	if err := protojson.Unmarshal(got.body, sent); err != nil || !proto.Equal(sent, req) {
		t.Errorf("body does not parse back to the request (%v): %s", err, got.body)
	}
	checkCanonicalJSON(t, got.body)
}

// checkCanonicalJSON checks the proto3 JSON mapping: lowerCamel names,
// enum names, 64-bit integers as strings, flat oneofs.
func checkCanonicalJSON(t *testing.T, body []byte) {
	t.Helper()
	var doc struct {
		ClientRequestID string            `json:"clientRequestId"`
		ClientInfo      map[string]string `json:"clientInfo"`
		Timing          map[string]any    `json:"timing"`
		UseCase         string            `json:"useCase"`
		Paging          map[string]any    `json:"paging"`
		Insertion       []struct {
			ContentID  string         `json:"contentId"`
			Properties map[string]any `json:"properties"`
		} `json:"insertion"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if doc.ClientRequestID != "c1" || doc.ClientInfo["clientType"] != "PLATFORM_SERVER" ||
		doc.ClientInfo["trafficType"] != "PRODUCTION" || doc.UseCase != "SEARCH" {
		t.Errorf("names or enums not canonical: %s", body)
	}
	if doc.Timing["clientLogTimestamp"] != "1795347240269" {
		t.Errorf("uint64 not a JSON string: %v", doc.Timing)
	}
	if doc.Paging["offset"] != float64(1) || doc.Paging["size"] != float64(2) {
		t.Errorf("paging oneof not flat: %v", doc.Paging)
	}
	if _, ok := doc.Insertion[0].Properties["struct"]; !ok || doc.Insertion[0].ContentID != "0" {
		t.Errorf("properties oneof not flat: %v", doc.Insertion[0])
	}
}

func TestDeliveryAPIGzip(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(okResponse))
		zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(buf.Bytes())
	})
	api := NewPromotedDeliveryAPI(srv.URL, "k", 0, 0, true, false)
	resp, err := api.RunDelivery(&DeliveryRequest{Request: testRequest(1)})
	if err != nil {
		t.Fatalf("RunDelivery: %v", err)
	}
	if resp.RequestId != "r1" {
		t.Errorf("request id = %q, want r1 from the gunzipped body", resp.RequestId)
	}
	if got := srv.only(t).header.Get("Accept-Encoding"); got != "gzip" {
		t.Errorf("Accept-Encoding = %q, want gzip", got)
	}
}

func TestDeliveryAPIResponseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{"server error", http.StatusInternalServerError, `oops`, "POST http://HOST/deliver: 500 Internal Server Error: oops"},
		{"unauthorized", http.StatusUnauthorized, ``, "POST http://HOST/deliver: 401 Unauthorized: "},
		{"unknown key", http.StatusOK, `{"requestId":"r","extra":1}`, `parse delivery response: proto:`},
		{"not JSON", http.StatusOK, `<html>`, `parse delivery response: proto:`},
		{"missing requestId", http.StatusOK, `{"insertion":[{"contentId":"1"}]}`, "delivery response should contain a requestId"},
		{"empty body", http.StatusOK, `{}`, "delivery response should contain a requestId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecordingServer(t, respond(tt.status, tt.body))
			_, err := NewPromotedDeliveryAPI(srv.URL, "k", 0, 0, false, false).RunDelivery(&DeliveryRequest{Request: testRequest(1)})
			want := strings.ReplaceAll(tt.wantErr, "http://HOST", srv.URL)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error = %v, want it to start with %q", err, want)
			}
			var httpErr *HTTPError
			if isStatus := errors.As(err, &httpErr); isStatus != (tt.status != http.StatusOK) {
				t.Errorf("errors.As HTTPError = %v for status %d", isStatus, tt.status)
			}
		})
	}
}

func TestDeliveryAPIAcceptsSnakeCaseAndNumbers(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, respond(http.StatusOK,
		`{"request_id":"r","insertion":[{"content_id":"1","position":3}],"paging_info":{"cursor":"4"}}`))
	resp, err := NewPromotedDeliveryAPI(srv.URL, "k", 0, 0, false, false).RunDelivery(&DeliveryRequest{Request: testRequest(1)})
	if err != nil {
		t.Fatalf("RunDelivery: %v", err)
	}
	if resp.RequestId != "r" || resp.Insertion[0].GetPosition() != 3 || resp.PagingInfo.GetCursor() != "4" {
		t.Errorf("response = %v", resp)
	}
}

func TestDeliveryAPITimeout(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, stall)
	start := time.Now()
	_, err := NewPromotedDeliveryAPI(srv.URL, "k", 50, 0, false, false).RunDelivery(&DeliveryRequest{Request: testRequest(1)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("timed out after %v, want about 50ms", elapsed)
	}
}

func TestDeliveryAPITruncatesToConfiguredMax(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		n, max    int
		wantCount int
	}{
		{"more than max", 5, 3, 3},
		{"exactly max", 3, 3, 3},
		{"default max keeps 1000", 1001, 0, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecordingServer(t, respond(http.StatusOK, okResponse))
			dr := &DeliveryRequest{Request: testRequest(tt.n)}
			if _, err := NewPromotedDeliveryAPI(srv.URL, "k", 1000, tt.max, false, false).RunDelivery(dr); err != nil {
				t.Fatalf("RunDelivery: %v", err)
			}
			sent := &pb.Request{}
			if err := protojson.Unmarshal(srv.only(t).body, sent); err != nil {
				t.Fatal(err)
			}
			if len(sent.Insertion) != tt.wantCount {
				t.Errorf("sent %d insertions, want %d", len(sent.Insertion), tt.wantCount)
			}
			if len(dr.Request.Insertion) != tt.n {
				t.Errorf("caller's request now has %d insertions, want %d", len(dr.Request.Insertion), tt.n)
			}
		})
	}
}

func TestDeliveryAPIInvalidEndpoint(t *testing.T) {
	t.Parallel()
	for endpoint, want := range map[string]string{
		"localhost:7700": `delivery endpoint "localhost:7700": want an absolute http or https URL`,
		"/deliver":       `delivery endpoint "/deliver": want an absolute http or https URL`,
		"http://a b":     `delivery endpoint "http://a b": parse "http://a b": invalid character " " in host name`,
	} {
		_, err := NewPromotedDeliveryAPI(endpoint, "k", 0, 0, false, true).RunDelivery(&DeliveryRequest{Request: testRequest(1)})
		if err == nil || err.Error() != want {
			t.Errorf("endpoint %q: error = %v, want %q", endpoint, err, want)
		}
	}
}

// healthzBarrier answers /healthz only once n checks are in flight at the
// same time, so the warmup must have opened n connections.
func healthzBarrier(n int64) func(http.ResponseWriter, *http.Request) {
	var arrived atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			respond(http.StatusOK, okResponse)(w, r)
			return
		}
		if arrived.Add(1) == n {
			once.Do(func() { close(all) })
		}
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
		w.Write([]byte("ok"))
	}
}

func TestWarmupOpensAndKeepsConnections(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, healthzBarrier(warmupRequests))
	client, err := NewPromotedDeliveryClientBuilder().
		WithDeliveryEndpoint(srv.URL).WithDeliveryAPIKey("dkey").
		WithMetricsEndpoint(srv.URL + "/log").
		WithWarmup(true).WithLogger(testLogger(t)).
		Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	defer client.Close()
	if got := srv.newConns.Load(); got != warmupRequests {
		t.Errorf("warmup opened %d connections, want %d", got, warmupRequests)
	}
	reqs := srv.requests()
	if len(reqs) != warmupRequests {
		t.Fatalf("warmup sent %d requests, want %d", len(reqs), warmupRequests)
	}
	for _, r := range reqs {
		if r.method != http.MethodGet || r.path != "/healthz" || r.header.Get("X-Api-Key") != "dkey" {
			t.Fatalf("warmup request %s %s with key %q, want GET /healthz with dkey", r.method, r.path, r.header.Get("X-Api-Key"))
		}
	}
	if _, err := client.Deliver(&DeliveryRequest{Request: testRequest(2)}); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if got := srv.newConns.Load(); got != warmupRequests {
		t.Errorf("Deliver opened a new connection (%d in all): the warm pool was not kept", got)
	}
}

func TestWarmupFailureIsNotFatal(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, respond(http.StatusOK, ""))
	dead := srv.URL
	srv.Close() // nothing listens there any more
	logs := &logCapture{}
	client, err := NewPromotedDeliveryClientBuilder().
		WithDeliveryEndpoint(dead).WithMetricsEndpoint(dead + "/log").
		WithWarmup(true).WithLogger(logs.logger()).
		Build()
	if err != nil {
		t.Fatalf("Build with an unreachable server: %v", err)
	}
	defer client.Close()
	if want := "delivery API warmup failed"; !strings.Contains(logs.text(), want) {
		t.Errorf("log %q does not mention %q", logs.text(), want)
	}
}
