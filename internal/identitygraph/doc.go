// Package identitygraph explains an entity's identity: which identifiers
// it holds, which of its events carry them and under which stitching rule,
// which links the engine refused and why, and the shortest chain of links
// that joins two of its identifiers.
//
// The graph is read from the stitched tables and from the stitching rules
// evaluated again over the entity's events (the rules are not stored per
// link). Refused links come from stitch_refused, which the engine writes;
// a value an event carries that the entity does not hold and that
// stitch_refused does not list is looked up in the identifier index and
// the guard-rail audit (stitch_audit) instead, which is how the graph
// explains entities stitched before stitch_refused existed.
//
// Two views share the model: Read, the whole entity summarised per
// identifier (the API's GET /v1/entities/{id}/graph), and Sample, a few
// dozen events drawn as nodes (the console's profile page). Both are
// bounded: a huge entity is read up to EventsMax events and the answer
// says it is truncated.
package identitygraph
