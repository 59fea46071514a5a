// Package postgres is the PostgreSQL (15+) store backend, for deployments
// with several processes.
//
// It runs the shared SQL through pgx's database/sql adapter, overrides the
// few queries whose dialect differs (advisory locks), and bulk-loads events
// with COPY into a per-connection temporary staging table.
package postgres
