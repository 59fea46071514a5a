// Package cli is the weft command line: one cobra command per file. Commands
// that run the platform (serve, quickstart, bench) start it in process;
// commands that act on a running platform (ingest, events) talk to its HTTP
// API at --server.
package cli
