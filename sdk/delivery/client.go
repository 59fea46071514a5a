package delivery

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
)

// PromotedDeliveryClient decides per request whether to call the Delivery
// API or to page the insertions itself, logs SDK deliveries and experiment
// membership to the Metrics API in the background, and sends shadow
// traffic. It is safe for concurrent use; build one with
// NewPromotedDeliveryClientBuilder and Close it on shutdown.
//
// The zero value with only deliveryAPI and metricsAPI set works too (the
// real client's tests build it that way): SDK delivery, the sampler and the
// metrics queue then take their defaults.
type PromotedDeliveryClient struct {
	deliveryAPI               DeliveryAPI
	metricsAPI                MetricsAPI
	sdkDelivery               DeliveryAPI
	maxRequestInsertions      int
	applyTreatmentChecker     ApplyTreatmentChecker
	shadowTrafficDeliveryRate float32
	sampler                   Sampler
	performChecks             bool
	blockingShadowTraffic     bool
	metricsQueueSize          int
	logger                    *slog.Logger

	metricsOnce sync.Once
	metrics     *metricsQueue
	shadow      backgroundGroup
}

var errDeliveryAPIUnset = errors.New("delivery API is not configured")

// Deliver returns the insertions to show for dr: from the Delivery API
// when the request is in treatment and not only-log, else (or when the API
// fails or times out) paged by the SDK. See the package documentation for
// the full decision table. The only errors are a nil request and SDK
// paging errors (an offset before RetrievalInsertionOffset).
func (c *PromotedDeliveryClient) Deliver(dr *DeliveryRequest) (*DeliveryResponse, error) {
	if dr == nil {
		return nil, errors.New(msgDeliveryRequestNil)
	}
	if dr.Request == nil {
		//lint:ignore ST1005 the messages are Promoted's, word for word (spec 3.5)
		return nil, errors.New(msgRequestNil)
	}
	plan := c.Plan(dr.OnlyLog, dr.Experiment)
	c.PrepareRequest(dr, plan)
	var apiResponse *pb.Response
	var apiErr error
	if plan.UseAPIResponse {
		apiResponse, apiErr = c.CallDeliveryAPI(nil, nil, dr)
		if apiErr != nil {
			c.log().Warn("delivery API failed, falling back to SDK delivery",
				"client_request_id", plan.ClientRequestID, "error", apiErr)
			apiResponse = nil
		}
	}
	resp, err := c.HandleSDKAndLog(dr, plan, apiResponse)
	if err != nil {
		return nil, err
	}
	resp.APIError = apiErr
	return resp, nil
}

// Plan decides whether the Delivery API is called and draws a new client
// request id (used only if the request has none).
func (c *PromotedDeliveryClient) Plan(onlyLog bool, experiment *ev.CohortMembership) *DeliveryPlan {
	return NewDeliveryPlan(uuid.NewString(), !onlyLog && c.shouldApplyTreatment(experiment))
}

// shouldApplyTreatment: a configured checker decides alone (even without an
// experiment); otherwise everything but the CONTROL arm is treatment.
func (c *PromotedDeliveryClient) shouldApplyTreatment(experiment *ev.CohortMembership) bool {
	if c.applyTreatmentChecker != nil {
		return c.applyTreatmentChecker.ShouldApplyTreatment(experiment)
	}
	return experiment == nil || experiment.GetArm() != ev.CohortArm_CONTROL
}

// PrepareRequest fills in what the SDK owns on the caller's request: the
// client request id (keeping the caller's and recording it in the plan),
// client info (a server-side production request) and the client
// timestamp. With performChecks it logs validation problems; they never
// block delivery.
func (c *PromotedDeliveryClient) PrepareRequest(dr *DeliveryRequest, plan *DeliveryPlan) {
	if c.performChecks {
		if problems := dr.Validate(); len(problems) > 0 {
			c.log().Warn("invalid delivery request", "problems", problems)
		}
	}
	req := dr.Request
	if req.ClientRequestId == "" {
		req.ClientRequestId = plan.ClientRequestID
	} else {
		plan.ClientRequestID = req.ClientRequestId
	}
	req.ClientInfo = &cm.ClientInfo{
		ClientType:  cm.ClientInfo_PLATFORM_SERVER,
		TrafficType: cm.ClientInfo_PRODUCTION,
	}
	if req.Timing == nil {
		req.Timing = &cm.Timing{}
	}
	if req.Timing.ClientLogTimestamp == 0 {
		req.Timing.ClientLogTimestamp = uint64(time.Now().UnixMilli())
	}
}

// CallDeliveryAPI calls the Delivery API with dr. Its first two parameters
// are ignored; they exist for signature compatibility with Promoted's
// client.
func (c *PromotedDeliveryClient) CallDeliveryAPI(_ *pb.Response, _ error, dr *DeliveryRequest) (*pb.Response, error) {
	if c.deliveryAPI == nil {
		return nil, errDeliveryAPIUnset
	}
	return c.deliveryAPI.RunDelivery(dr)
}

// HandleSDKAndLog finishes a delivery: it uses apiResponse when there is
// one, else pages SDK-side; queues the LogRequest (an SDK delivery log
// and/or the cohort membership); and sends shadow traffic when the API was
// not planned. Call it yourself, after Plan, PrepareRequest and an optional
// CallDeliveryAPI, when ranking happens after delivery.
func (c *PromotedDeliveryClient) HandleSDKAndLog(dr *DeliveryRequest, plan *DeliveryPlan, apiResponse *pb.Response) (*DeliveryResponse, error) {
	resp, exec := apiResponse, pb.ExecutionServer_API
	if resp == nil {
		var err error
		if resp, err = c.sdk().RunDelivery(dr); err != nil {
			return nil, err
		}
		exec = pb.ExecutionServer_SDK
	}
	experiment := cohortOf(dr.Experiment)
	if exec != pb.ExecutionServer_API || experiment != nil {
		c.logMetrics(newLogRequest(dr.Request, resp, exec, experiment))
	}
	if !plan.UseAPIResponse && c.shouldSendShadowTraffic() {
		c.sendShadowTraffic(dr)
	}
	return &DeliveryResponse{
		Response:        resp,
		ClientRequestID: dr.Request.GetClientRequestId(),
		ExecutionServer: exec,
	}, nil
}

// Close flushes the queued LogRequests (each bounded by the metrics
// timeout), waits for background shadow traffic and stops the background
// goroutine. Deliver keeps working after Close, but sends its LogRequests
// and shadow traffic synchronously. The error reports LogRequests that
// could not be sent during the flush.
func (c *PromotedDeliveryClient) Close() error {
	c.shadow.close()
	if q := c.metricsQueue(); q != nil {
		return q.close()
	}
	return nil
}

// DroppedLogRequests is how many LogRequests were dropped because the
// metrics queue was full.
func (c *PromotedDeliveryClient) DroppedLogRequests() int64 {
	if q := c.metricsQueue(); q != nil {
		return q.dropped.Load()
	}
	return 0
}

func (c *PromotedDeliveryClient) logMetrics(lr *ev.LogRequest) {
	q := c.metricsQueue()
	if q == nil {
		c.log().Warn("metrics API is not configured, dropping log request")
		return
	}
	q.enqueue(lr)
}

// metricsQueue starts the queue on first use, so a client built as a
// struct literal logs too. It is nil without a metrics API.
func (c *PromotedDeliveryClient) metricsQueue() *metricsQueue {
	c.metricsOnce.Do(func() {
		if c.metricsAPI == nil {
			return
		}
		size := c.metricsQueueSize
		if size <= 0 {
			size = MetricsQueueSizeDefault
		}
		c.metrics = newMetricsQueue(c.metricsAPI, size, c.log())
	})
	return c.metrics
}

func (c *PromotedDeliveryClient) sdk() DeliveryAPI {
	if c.sdkDelivery == nil {
		return NewSDKDelivery()
	}
	return c.sdkDelivery
}

func (c *PromotedDeliveryClient) log() *slog.Logger {
	if c.logger == nil {
		return slog.Default()
	}
	return c.logger
}

// cohortOf keeps only what the LogRequest needs of the experiment; the
// rest is inherited from the LogRequest.
func cohortOf(experiment *ev.CohortMembership) *ev.CohortMembership {
	if experiment == nil {
		return nil
	}
	return &ev.CohortMembership{CohortId: experiment.GetCohortId(), Arm: experiment.GetArm()}
}
