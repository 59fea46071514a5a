// Package keys is the store of API keys: random keys with a recognisable
// prefix (weft_), created with a name and the scopes they grant, listed
// without the key, revoked, and checked on every request.
//
// # Storage
//
// A key is 32 random bytes; only its SHA-256 is stored (table api_keys). A
// fast hash is right here: the key has 256 bits of entropy, so there is
// nothing to brute-force, and every request checks one. Names are unique
// among live keys; a revoked key keeps its row, and its name, for the
// audit trail.
//
// # Checking
//
// Keyring.Check hashes the presented key once and compares the fixed-size
// hash with every live key's and every bootstrap key's in constant time,
// without stopping at a match: neither the length of the presented key nor
// which key matched changes the time taken. The live keys are cached in
// memory and reloaded at most every RefreshDefault (or at once after a
// Create or Revoke through the same Keyring), so a check costs no query;
// a key revoked through another process sharing the database is refused
// within RefreshDefault.
//
// A key's last use is written at most once per TouchDefault per key, not
// on every request.
//
// # Scopes
//
// ScopeIngest writes events (optionally of named sources only) and
// objects, ScopeRead reads, ScopeDelivery serves the Delivery and Metrics
// APIs and plugin predictions, ScopeJobs triggers and terminates runs, and
// ScopeAdmin is everything. Bootstrap keys (weft serve --api-key,
// WEFT_API_KEYS) are admin keys.
//
// The key a request authenticated as travels in its context (WithKey,
// FromContext), for handlers and the audit trail.
package keys
