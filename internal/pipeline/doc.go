// Package pipeline runs the stages that turn the event log into customers,
// under the configuration in force: it applies weft.yaml (validated against
// the engines before anything changes) and owns the job runtime, on which
// stitching and attribute calculation are built-in jobs.
//
// Shortly after events arrive a `stitching` run is triggered; a stitching
// run that changed entities triggers an `attributes` run. Both also run on
// schedules (every minute and every hour unless weft.yaml declares
// otherwise) to catch events appended by other processes, stale
// attributes and context queries, and on demand through the API. A change
// of the stitching rules makes the next pass a rebuild from scratch,
// because entities built under other rules are not what the new rules say.
package pipeline
