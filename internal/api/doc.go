// Package api is Weft's HTTP API: one route table (routes.go) in which
// every route declares the scope a key needs (scope.go), a handler file per
// resource, errors mapped to statuses in one place (errors.go), and the
// middleware: the key check of each route's scope and the audit trail of
// changes (auth.go, audit.go), request metrics and panics.
//
// Every error answer has the shape {"error": {"code": "...", "message": "..."}}.
package api
