// Package audit is the audit trail: a record of every change asked of the
// API, who asked (the key's name, "bootstrap" or "open"), when, under
// which request id, the action, the route, the answer's status and a
// short summary, refused attempts included.
//
// The API records the entries (internal/api, audit.go), with a middleware
// on every route of the jobs and admin scopes whose method is not GET or
// HEAD; a handler may describe its change with Summarize. A summary never
// holds a request body or a secret's value.
//
// # Retention
//
// Entries are kept forever: one small row per change, and a trail that
// forgets is not one. An operator who must bound it deletes old rows of
// audit_log directly.
package audit
