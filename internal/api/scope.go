package api

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
	scopeIngest scope = "ingest"
	// scopeRead reads events, profiles, attributes, objects, runs and the
	// metrics.
	scopeRead scope = "read"
	// scopeDelivery serves /deliver, /log and plugin predictions.
	scopeDelivery scope = "delivery"
	// scopeJobs triggers and terminates runs.
	scopeJobs scope = "jobs"
	// scopeAdmin is everything: config, keys, secrets, settings, privacy
	// requests.
	scopeAdmin scope = "admin"
)
