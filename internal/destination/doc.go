// Package destination carries what Weft knows to other systems: each
// destination of weft.yaml (destinations:) is a job that sends segment
// membership changes or changed profiles to a webhook, or writes a
// segment's members or every profile to files (local, S3, Azure Blob),
// from a cursor per destination so that nothing is lost or skipped.
package destination
