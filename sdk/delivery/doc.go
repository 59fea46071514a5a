// Package delivery is Weft's Go client for the Delivery API and the
// Metrics API. It reproduces the API of Promoted.ai's Go delivery client
// (github.com/promotedai/promoted-go-delivery-client/delivery), name for
// name, and speaks the same wire types: the generated protobuf structs of
// github.com/promotedai/schema. It works against `weft serve` as well as
// against Promoted's own services.
//
// # Use
//
// Build one client per process and share it; it is safe for concurrent use.
//
//	client, err := delivery.NewPromotedDeliveryClientBuilder().
//		WithDeliveryEndpoint("http://localhost:7700").
//		WithDeliveryAPIKey(key).
//		WithMetricsEndpoint("http://localhost:7700/log").
//		WithMetricsAPIKey(key).
//		WithWarmup(true).
//		Build()
//	...
//	defer client.Close() // flushes the queued LogRequests
//	resp, err := client.Deliver(&delivery.DeliveryRequest{Request: req})
//
// # What Deliver does
//
// The Delivery API is called only when the request is not only-log and is
// in treatment: the ApplyTreatmentChecker says so, or, without a checker,
// there is no experiment or its arm is anything but CONTROL. Otherwise the
// SDK pages the request insertions itself (SDKDelivery), and it does the
// same when the API call fails for any reason: timeout, a status outside
// 2xx, a body that is not a delivery.Response, or an empty requestId.
//
//	OnlyLog  experiment / checker          API called  ExecutionServer      LogRequest                               shadow
//	true     any                           no          SDK                  deliveryLog (+cohortMembership)          possible
//	false    no experiment, no checker     yes         API (SDK on error)   none (deliveryLog on fallback)           no
//	false    arm != CONTROL                yes         API (SDK on error)   cohortMembership (+deliveryLog on fb.)   no
//	false    arm CONTROL or checker false  no          SDK                  deliveryLog (+cohortMembership)          possible
//
// Shadow traffic is a deep copy of the request marked SHADOW, sent to the
// Delivery API for a sampled share (WithShadowTrafficDeliveryRate) of the
// requests that did not call it; its answer is discarded.
//
// SDK paging: Request.Paging gives a size and a global offset;
// RetrievalInsertionOffset says which global position Request.Insertion[0]
// holds. The page starts at Insertion[offset-RetrievalInsertionOffset]; an
// offset before RetrievalInsertionOffset is an error, a page past the end
// is empty. Response insertions carry the content id, the request
// insertion's id (or a new one) and the global position.
//
// # Decisions where this package differs from Promoted's Go client
//
//   - Build without WithAPIFactory uses &DefaultAPIFactory{} instead of
//     panicking, and then requires both endpoints; a set endpoint must be an
//     absolute http(s) URL. NewPromotedDeliveryAPI never panics: a bad
//     endpoint makes every call fail, so Deliver falls back.
//   - WithWarmup exists: Build sends 20 concurrent GET {scheme}://{host}/healthz
//     with x-api-key (2 s each) and the transport keeps 20 idle connections
//     per host. Warmup failures are logged, never fatal.
//   - Requests and LogRequests are sent as canonical protojson (lowerCamel
//     names, enum names, 64-bit integers as strings), as Promoted's Java
//     client does, not as encoding/json of the structs. Responses are parsed
//     with strict protojson.Unmarshal, as the real client does.
//   - The Delivery URL is scheme+host+"/deliver" (the configured path is
//     dropped, as in the real client); the Metrics endpoint is used as is.
//     Accept-Encoding: gzip is sent only with WithAcceptsGzip(true), and a
//     gzip Content-Encoding is decoded.
//   - Requests are cut to the configured maxRequestInsertions, not to a
//     hard-coded 1000.
//   - An offset past the last insertion returns an empty page instead of
//     panicking; a negative RetrievalInsertionOffset is an error.
//   - DeliveryResponse.ClientRequestID is the client_request_id actually
//     sent (the caller's when set), and DeliveryResponse.APIError holds the
//     reason of a fallback (Java's DeliveryResponse.exception).
//   - Metrics logging goes through a bounded queue (WithMetricsQueueSize,
//     default 1000) drained by one goroutine. When it is full the
//     LogRequest is dropped, logged and counted (DroppedLogRequests);
//     Deliver never blocks on it. Close flushes the queue (each send
//     bounded by the metrics timeout), waits for background shadow traffic
//     and stops the goroutine. Deliver after Close still works and sends
//     its LogRequest and shadow traffic synchronously, so nothing is lost
//     during shutdown.
//   - DeliveryRequest.Validate on a request built as a struct literal uses
//     the default validator (the real client validated nothing then).
//   - The sampler is safe for concurrent use, and LogRequests hold copies
//     of the request and response, so the background send never races
//     with the caller.
//   - Logging goes to log/slog (WithLogger; default slog.Default()).
//
// Deliver takes no context.Context because its signature is Promoted's;
// the configured timeouts bound every call it makes.
package delivery
