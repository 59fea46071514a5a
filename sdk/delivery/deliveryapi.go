package delivery

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	// warmupRequests is how many health checks warmup sends at once, as
	// Promoted's Java and Python clients do.
	warmupRequests = 20
	// warmupTimeout bounds each health check. It is longer than the
	// delivery timeout because opening a (TLS) connection is the point.
	warmupTimeout = 2 * time.Second
)

var errMissingRequestID = errors.New("delivery response should contain a requestId")

// PromotedDeliveryAPI calls the Delivery API over HTTP:
// POST {scheme}://{host}/deliver with the request as protojson.
type PromotedDeliveryAPI struct {
	deliverURL           string
	healthzURL           string
	endpointErr          error
	sender               httpSender
	maxRequestInsertions int
	logger               *slog.Logger
}

// NewPromotedDeliveryAPI returns a client of the Delivery API at endpoint.
// Only its scheme and host are used (any path is dropped, as Promoted's
// clients do). Timeouts <= 0 mean 250 ms and maxRequestInsertions <= 0
// means 1000. With warmup set it opens the connection pool before
// returning. An invalid endpoint does not panic: every RunDelivery returns
// the error, so Deliver falls back to SDK delivery.
func NewPromotedDeliveryAPI(endpoint, apiKey string, timeoutMillis int64, maxRequestInsertions int, acceptGzip, warmup bool) *PromotedDeliveryAPI {
	api := newPromotedDeliveryAPI(endpoint, apiKey, timeoutMillis, maxRequestInsertions, acceptGzip, slog.Default())
	if warmup {
		api.warmup()
	}
	return api
}

func newPromotedDeliveryAPI(endpoint, apiKey string, timeoutMillis int64, maxRequestInsertions int,
	acceptGzip bool, logger *slog.Logger) *PromotedDeliveryAPI {
	timeout := millis(timeoutMillis, DeliveryTimeoutMillisDefault)
	if maxRequestInsertions <= 0 {
		maxRequestInsertions = MaxRequestInsertionsDefault
	}
	api := &PromotedDeliveryAPI{
		sender: httpSender{
			client:     &http.Client{Timeout: timeout, Transport: newTransport()},
			apiKey:     apiKey,
			timeout:    timeout,
			acceptGzip: acceptGzip,
		},
		maxRequestInsertions: maxRequestInsertions,
		logger:               logger,
	}
	u, err := parseEndpoint("delivery endpoint", endpoint)
	if err != nil {
		api.endpointErr = err
		return api
	}
	base := u.Scheme + "://" + u.Host
	api.deliverURL, api.healthzURL = base+"/deliver", base+"/healthz"
	return api
}

// RunDelivery sends the request, cut to the configured maximum number of
// insertions, and parses the response strictly: a key that is not a field
// of delivery.Response, or an empty requestId, is an error.
func (a *PromotedDeliveryAPI) RunDelivery(dr *DeliveryRequest) (*pb.Response, error) {
	if a.endpointErr != nil {
		return nil, a.endpointErr
	}
	if dr == nil || dr.Request == nil {
		//lint:ignore ST1005 the messages are Promoted's, word for word (spec 3.5)
		return nil, errors.New(msgRequestNil)
	}
	req := dr.Request
	if len(req.GetInsertion()) > a.maxRequestInsertions {
		req = dr.Clone(a.maxRequestInsertions).Request
	}
	body, err := a.sender.postProto(a.deliverURL, req)
	if err != nil {
		return nil, err
	}
	resp := &pb.Response{}
	if err := protojson.Unmarshal(body, resp); err != nil {
		return nil, fmt.Errorf("parse delivery response: %w", err)
	}
	if resp.GetRequestId() == "" {
		return nil, errMissingRequestID
	}
	return resp, nil
}

// warmup sends warmupRequests concurrent health checks so the transport
// opens (and, with maxIdleConnsPerHost, keeps) that many connections
// before the first real request. Failures are logged, never fatal.
func (a *PromotedDeliveryAPI) warmup() {
	if a.endpointErr != nil {
		a.logger.Warn("delivery API warmup skipped", "error", a.endpointErr)
		return
	}
	errs := make([]error, warmupRequests)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = a.sender.do(http.MethodGet, a.healthzURL, nil, warmupTimeout)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		a.logger.Warn("delivery API warmup failed", "url", a.healthzURL, "error", err)
	}
}
