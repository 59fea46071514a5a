package api

import "github.com/weftdata/weft/internal/keys"

// scope is what a key must be allowed to do to call a route. Every route
// of the table declares one; the test of the route table fails on a route
// without.
type scope string

const (
	// scopePublic routes are open to anyone: /healthz, which says nothing
	// but its status.
	scopePublic scope = "public"
	// scopeSigned routes carry their own authorization: the signed,
	// expiring URLs of plugin runs.
	scopeSigned scope = "signed"
	// scopeIngest writes events and objects.
	scopeIngest scope = keys.ScopeIngest
	// scopeRead reads events, profiles, attributes, objects, runs, the
	// metrics (unless served on --metrics-addr) and the API's description.
	scopeRead scope = keys.ScopeRead
	// scopeDelivery serves /deliver, /log and plugin predictions.
	scopeDelivery scope = keys.ScopeDelivery
	// scopeJobs triggers and terminates runs.
	scopeJobs scope = keys.ScopeJobs
	// scopeAdmin is everything: config, keys, the audit trail, secrets,
	// settings, privacy requests. An admin key may call every route.
	scopeAdmin scope = keys.ScopeAdmin
)
