package api

import "testing"

// TestEveryRouteHasScope fails when a route of the table declares no scope
// or one that is not a scope.
func TestEveryRouteHasScope(t *testing.T) {
	known := map[scope]bool{scopePublic: true, scopeSigned: true, scopeIngest: true, scopeRead: true, scopeDelivery: true, scopeJobs: true, scopeAdmin: true}
	for _, r := range everyRoute() {
		if !known[r.scope] {
			t.Errorf("%s %s: scope %q", r.method, r.path, r.scope)
		}
	}
}
