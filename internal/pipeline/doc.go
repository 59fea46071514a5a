// Package pipeline runs the stages that turn the event log into customers,
// under the configuration in force: it applies weft.yaml (validated against
// the engines before anything changes), and runs a stitching pass followed
// by an attribute run shortly after events arrive, and either on demand. A
// change of the stitching rules makes the next pass a rebuild from scratch,
// because entities built under other rules are not what the new rules say.
//
// A later step moves both onto the job runtime.
package pipeline
