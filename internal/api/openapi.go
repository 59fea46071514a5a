package api

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes every route of the API (OpenAPI 3.1). The test
// TestOpenAPIMatchesRoutes holds it to the route table.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI is GET /v1/openapi.json.
func (h *handler) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDocument) //nolint:errcheck // the client went away
}
