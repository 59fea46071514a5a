package delivery

import (
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/proto"
)

// NoMaxRequestInsertions passed to Clone keeps every insertion.
const NoMaxRequestInsertions = 0

// DeliveryRequest is the input of Deliver: the Delivery API request plus
// what only the SDK uses.
type DeliveryRequest struct {
	// Request is the request for content, with every candidate insertion.
	// Deliver fills in clientRequestId, clientInfo and timing on it.
	Request *pb.Request
	// OnlyLog skips the Delivery API: the SDK pages the insertions itself
	// and logs them, as the control arm of an experiment would.
	OnlyLog bool
	// RetrievalInsertionOffset is the global position of
	// Request.Insertion[0] in the list of all candidates. It is SDK-only
	// and never sent to the Delivery API.
	RetrievalInsertionOffset int
	// Experiment is the cohort the user is in, if any.
	Experiment *ev.CohortMembership

	validator DeliveryRequestValidator
}

// NewDeliveryRequest returns a DeliveryRequest checked by validator (the
// default validator when nil).
func NewDeliveryRequest(req *pb.Request, experiment *ev.CohortMembership, onlyLog bool,
	retrievalInsertionOffset int, validator DeliveryRequestValidator) *DeliveryRequest {
	if validator == nil {
		validator = &DefaultDeliveryRequestValidator{}
	}
	return &DeliveryRequest{
		Request:                  req,
		OnlyLog:                  onlyLog,
		RetrievalInsertionOffset: retrievalInsertionOffset,
		Experiment:               experiment,
		validator:                validator,
	}
}

// Clone returns a copy with a deep copy of Request, keeping at most
// maxRequestInsertions insertions (all of them for NoMaxRequestInsertions
// or any value <= 0). Experiment and the validator are shared.
func (d *DeliveryRequest) Clone(maxRequestInsertions int) *DeliveryRequest {
	clone := *d
	clone.Request = proto.Clone(d.Request).(*pb.Request)
	if maxRequestInsertions > 0 && len(clone.Request.GetInsertion()) > maxRequestInsertions {
		clone.Request.Insertion = clone.Request.Insertion[:maxRequestInsertions]
	}
	return &clone
}

// Validate returns the problems found by the request's validator, in the
// order of DefaultDeliveryRequestValidator. A request built as a struct
// literal (no validator) is checked by the default validator.
func (d *DeliveryRequest) Validate() []string {
	if d == nil {
		return []string{msgDeliveryRequestNil}
	}
	if d.validator == nil {
		return (&DefaultDeliveryRequestValidator{}).Validate(d)
	}
	return d.validator.Validate(d)
}

// DeliveryResponse is the output of Deliver.
type DeliveryResponse struct {
	// Response holds the insertions to show, from the Delivery API or
	// paged by the SDK.
	Response *pb.Response
	// ClientRequestID is the client_request_id sent with the request:
	// the caller's own when it set one, else the one the SDK generated.
	ClientRequestID string
	// ExecutionServer says who produced Response: API or SDK.
	ExecutionServer pb.ExecutionServer
	// APIError is why the Delivery API call failed when Deliver fell back
	// to SDK delivery; nil otherwise (as Java's DeliveryResponse.exception).
	APIError error
}

// DeliveryPlan is Plan's decision for one request.
type DeliveryPlan struct {
	// ClientRequestID is the id to send; PrepareRequest replaces it with
	// the caller's when the request already has one.
	ClientRequestID string
	// UseAPIResponse is true when the Delivery API is called.
	UseAPIResponse bool
}

// NewDeliveryPlan returns a DeliveryPlan.
func NewDeliveryPlan(clientRequestID string, useAPIResponse bool) *DeliveryPlan {
	return &DeliveryPlan{ClientRequestID: clientRequestID, UseAPIResponse: useAPIResponse}
}
