// Package client talks to a running Weft over its HTTP API, for the CLI
// commands that act on a platform (ingest, events tail, bench) and for
// tests. Ingest streams records in batches, with parallel requests and
// retries; retrying is safe because event ids are deterministic, so a batch
// that was stored before its answer got lost comes back as duplicates.
package client
