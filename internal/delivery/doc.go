// Package delivery is the Delivery API (POST /deliver) and the Metrics
// API (POST /log), wire-compatible with Promoted.ai's clients; package api
// serves them over HTTP.
//
// # Dialects
//
// Bodies are delivery.Request and event.LogRequest of
// github.com/promotedai/schema in any of three JSON dialects: the Go SDK's
// (encoding/json on the generated structs: snake_case, numeric enums, and
// oneofs as {"Starting":{"Offset":5}} and {"StructField":{"Struct":{..}}}),
// canonical proto JSON (Java) and Python's (lowerCamel with numeric enums,
// an insertionMatrix and extra keys). The Go oneof wrappers are rewritten
// at any depth, guided by the message descriptors, every known field's
// JSON type is checked so errors name the path (insertion[3].contentId),
// and protojson parses the result, ignoring unknown fields.
//
// # Delivery
//
// A delivery gets a new requestId, ranks the insertions (Ranker; none
// means request order) and serves a page: the offset from paging.cursor,
// else paging.offset; the size from paging.size, else the whole list. A
// paging cache keyed by the request context (pagingKey, also the pagingId
// returned) keeps pages consistent for delivery.paging_ttl: content placed
// on other pages is left out, content placed on this page keeps its
// position, the rest fills the open positions in rank order. The response
// holds only insertion, pagingInfo, introspectionData and requestId, the
// fields the Go client's strict parser accepts. The delivery log is
// appended in the background by a bounded batch writer; when its queue is
// full, logs are dropped and counted rather than slowing the request.
//
// # Events
//
// Every record of a LogRequest, and every API delivery, becomes one event
// of source delivery, version 1, whose type is the LogRequest field
// (delivery_log, impression, action, cohort_membership, view, auto_view,
// user, insertion, diagnostics, request, device). The payload is the
// record's canonical protojson (lowerCamel, enum names, 64-bit integers as
// strings; object keys sorted), after the LogRequest's platformId,
// userInfo, timing and clientInfo were copied into records lacking them
// (into a delivery log's request, which holds them). An impression or
// action without contentId gets the content of the insertion it names
// when this server served that insertion lately. The event time is
// timing.clientLogTimestamp, else the arrival time; the event id is
// delivery/<type>/<natural id> (impressionId, actionId, the request's
// requestId or clientRequestId, membershipId, viewId, autoViewId,
// insertionId), or delivery/<type>/<hash of the payload>, so retries are
// duplicates. The stitching rules package config derives from the
// delivery section stitch these events by userInfo.userId and
// userInfo.anonUserId.
package delivery
