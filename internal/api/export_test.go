package api

// EveryRouteScope is the route table with every optional part of the API
// on, for the tests of package api_test: "METHOD path" to the scope it
// declares.
func EveryRouteScope() map[string]string {
	out := map[string]string{}
	for _, r := range everyRoute() {
		out[r.String()] = string(r.scope)
	}
	return out
}
