// Package stitch resolves identities: it turns the event log into customer
// entities, as Meiro CPS does, incrementally by event seq.
//
// Two events that share an identifier (a category and a value, produced by
// the SQL value expression of a stitching rule) belong to the same entity.
// Each pass takes the next batch of events after the watermark, evaluates
// the rules in one SQL statement, joins the batch's identifiers with the
// identifier index, builds the components with a union-find in Go, and
// writes new entities, event mappings, identifiers, merges and audit rows
// in one transaction that also moves the watermark: a crash mid-pass leaves
// the previous state.
//
// # Determinism
//
// Events are linked one by one in seq order, each event's identifiers in a
// fixed order (guarded categories first, then by category and value), and
// the max_per_entity guard rail decides on the components as they stand at
// that moment: a link that would give the joined entity more values of a
// guarded category than allowed is refused and audited. The state a pass starts
// from (entities with their identifier counts) is exactly the state the
// same linking would have reached in one big pass, so any batch size gives
// the same partition as a rebuild from scratch; the property test checks it.
//
// Merges keep the oldest entity, the one whose first event has the
// smallest seq (ties: smallest id); the others become tombstones with
// merged_into set. A new entity's id is the MD5 of its first event's id.
package stitch
