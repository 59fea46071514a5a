// Package server assembles a running Weft platform from its process
// configuration: it opens the store (embedded DuckDB or PostgreSQL), builds
// the HTTP API and serves it until its context ends, then shuts down
// gracefully: stop accepting, finish in-flight requests, close the store.
// The serve, quickstart and bench commands all run the platform this way.
package server
