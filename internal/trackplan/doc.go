// Package trackplan checks events against the tracking plan of weft.yaml
// (tracking_plan:): a JSON Schema (draft 2020-12) per event type, applied
// to the event's payload, and per source a mode: reject (the event is a
// per-record rejection naming the schema location that failed), flag
// (stored, and the violation recorded) or off (nothing checked, nothing
// parsed; sources not listed are off).
//
// Schemas are compiled once per configuration (Compile, at apply by
// config.Validate and when a Checker is given a new configuration) and
// never load anything: references to files or URLs are refused, so an
// API call cannot make Weft read a file or reach the network. A Checker
// is the event.Ingester's check, so every path that appends events (POST
// /v1/events, the Segment tracking API, the Metrics API, delivery logs,
// blob imports) goes through it.
//
// Violations are recorded in bulk, one set of statements per batch: counts
// per event type, rule and mode by the hour (tracking_plan_counts), and
// the newest ExamplesKept examples per event type and rule
// (tracking_plan_examples). Examples hold no payload value: the message
// names the keyword and the schema's own values, and the instance path
// masks property names no schema declares, so erasing a person leaves
// nothing of theirs here.
package trackplan
