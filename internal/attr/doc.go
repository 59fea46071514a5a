// Package attr calculates customer attributes for every stitched entity, as
// Meiro CPS defines them: per attribute a type of calculation (first, last,
// min, max, sum, avg, most_frequent, least_frequent, num_of_unique, list,
// value, custom) over the values that SQL expressions extract from the
// entity's events, in two levels (value/weight/filter over events, then
// outer_value/outer_weight/outer_filter over the rows the first level
// produced, which may be many per event when value is set-returning).
//
// The engine is set-based: one SQL statement per attribute over a chunk of
// due entities, never one query per entity; custom queries run per entity
// inside one statement, through a LATERAL join that binds base, the
// entity's events. The events are read, and their JSON parsed, once per run
// for all attributes: staging tables hold every attribute's first level
// (stage.go), and the attributes' statements aggregate them. Results go to a long table (customer_attributes: entity,
// attribute, value as text, calculated_at: the run that wrote the value); list
// attributes and custom queries returning several rows hold several values.
// An incremental run rewrites only the (attribute, entity) pairs whose values
// changed (run.replaceChanged).
//
// Due entities are those with activity since their last calculation (new
// events, merges: entities.modified_at), those not calculated for 48 hours,
// and, for an attribute whose definition changed, all of them. Context
// queries (the context table) are refreshed first when older than 24 hours.
// After a run the caches (customers per attribute, top value counts) are
// rebuilt, and the pivoted_customer_attributes view follows the attribute
// set.
//
// Reference computes one attribute for one entity the slow, obvious way (a
// plain query over its events, aggregated in Go): tests hold the engine to
// it and the benchmark measures against it.
package attr
