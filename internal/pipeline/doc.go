// Package pipeline runs the stages that turn the event log into customers,
// under the configuration in force: it applies weft.yaml (validated against
// the engine before anything changes), and runs stitching passes shortly
// after events arrive and on demand. A change of the stitching rules makes
// the next pass a rebuild from scratch, because entities built under other
// rules are not what the new rules say.
//
// Later steps add the attribute engine after each stitching pass and move
// both onto the job runtime.
package pipeline
