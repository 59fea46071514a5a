// Package api is Weft's HTTP API: one route table (routes.go), a handler
// file per resource, errors mapped to statuses in one place (errors.go), and
// the middleware for API keys, request metrics and panics.
//
// Every error answer has the shape {"error": {"code": "...", "message": "..."}}.
package api
