// Package stitch resolves identities: it turns the event log into customer
// entities, as Meiro CPS does, incrementally by event seq.
//
// Two events that share an identifier (a category and a value, produced by
// the SQL value expression of a stitching rule) belong to the same entity.
// Each pass takes the next batch of events after the watermark, evaluates
// the rules in one SQL statement, looks the batch's identifiers up in the
// identifier index, builds the components with a union-find in Go, and
// writes new entities, event mappings, identifiers, merges and audit rows
// in one transaction that also moves the watermark: a crash mid-pass leaves
// the previous state. A rebuild's passes share one transaction, committed
// when the last is done (bulk.go).
//
// # Performance
//
// The union-find only ever holds one batch (plus the entities it touches),
// so its memory is bounded by the batch size: Run takes 50,000 events a
// pass by default, Rebuild 250,000. What grows with the history is the
// engine's resident index (index.go): every identifier with its entity and
// every entity's id, created_seq and identifier counts, about 30 bytes
// per event, so that a pass does not scan the identifier and entity tables.
// It is loaded from the tables on an engine's first pass and reloaded when
// stitch_state's pass_token shows that someone else wrote a pass. Its
// arrays are mapped outside the Go heap (package offheap), so that the
// collector lets the heap grow by --gc-percent of the batches' data only.
//
// Lists travel between Go and the database packed into one text value
// each (pack.go): DuckDB binds a Go slice element by element and hands rows
// to database/sql one at a time, both far slower than splitting or
// aggregating one string in SQL. Run reads the next batch (bounds, event
// ids, identifiers) while the current one is resolved and written.
// entities.identifier_counts keeps what the guard rail needs;
// identifiers.key_hash lets the engine look identifiers up by one integer
// column when it has no index.
//
// BENCHMARKS.md has the figures ("weft bench stitch").
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
