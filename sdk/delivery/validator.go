package delivery

// The validation messages are Promoted's, word for word: integrations and
// tests match on them.
const (
	msgDeliveryRequestNil = "DeliveryRequest is nil"
	msgRequestNil         = "Request builder must be set"
	msgRequestIDSet       = "Request.requestID should not be set"
	msgUserInfoNil        = "Request.userInfo should be set"
	msgAnonUserIDEmpty    = "Request.userInfo.anonUserID should be set"
	msgContentIDEmpty     = "Insertion.contentID should be set"
	msgNegativeOffset     = "Insertion start must be greater or equal to 0"
)

// DeliveryRequestValidator checks a DeliveryRequest and returns one message
// per problem; an empty result means valid.
type DeliveryRequestValidator interface {
	Validate(deliveryRequest *DeliveryRequest) []string
}

// DefaultDeliveryRequestValidator applies Promoted's checks, in this order:
// request present, requestId unset, userInfo with an anonUserId, a
// contentId on every insertion, RetrievalInsertionOffset not negative.
type DefaultDeliveryRequestValidator struct{}

// Validate implements DeliveryRequestValidator.
func (v *DefaultDeliveryRequestValidator) Validate(dr *DeliveryRequest) []string {
	if dr == nil {
		return []string{msgDeliveryRequestNil}
	}
	req := dr.Request
	if req == nil {
		// Nothing else can be checked without a request.
		return []string{msgRequestNil}
	}
	var problems []string
	if req.GetRequestId() != "" {
		problems = append(problems, msgRequestIDSet)
	}
	if req.GetUserInfo() == nil {
		problems = append(problems, msgUserInfoNil)
	} else if req.GetUserInfo().GetAnonUserId() == "" {
		problems = append(problems, msgAnonUserIDEmpty)
	}
	for _, ins := range req.GetInsertion() {
		if ins.GetContentId() == "" {
			problems = append(problems, msgContentIDEmpty)
		}
	}
	if dr.RetrievalInsertionOffset < 0 {
		problems = append(problems, msgNegativeOffset)
	}
	return problems
}
