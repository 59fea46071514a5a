// Package privacy is Weft's OpenDSR processor (OpenDSR 1.0, formerly
// OpenGDPR): data subject requests of the types erasure, access and
// portability, received from a controller, kept in privacy_requests and
// carried out by a built-in job.
//
// # Lifecycle
//
// A request is created pending (Service.Create), which triggers the job
// (JobKind). The job takes the oldest request with work left, resolves its
// identities to entities (an identifier category and value; the sha256
// format compares the lowercase hex SHA-256 of the value; the entities
// merged into a found entity count too), records them and marks it
// in_progress, then erases (package erasure) or exports, and marks it
// completed. A request may be cancelled while pending. Every change of
// status is sent to the request's status_callback_urls, signed; the status
// whose callbacks were sent is recorded, so a crash resends rather than
// loses them. The job resumes what a crash interrupted: an in_progress
// request carries the entities it started on.
//
// # Signing
//
// Responses and callbacks carry X-OpenDSR-Signature (and the OpenGDPR 1.0
// name X-OpenGDPR-Signature): the base64 RSA PKCS #1 v1.5 signature of the
// SHA-256 of the body as sent, with the key whose certificate discovery
// names. Weft makes the RSA-2048 key pair and a self-signed certificate on
// first use. With a secret key the private key is stored in privacy_keys
// sealed with AES-256-GCM under a key derived from it; without one, it is
// a file of the data directory (mode 0600). Either way SQL never reads it
// as a plain value.
//
// # Exports
//
// Access and portability write one JSON document (profiles: identifiers,
// attributes, plugin properties, merges) and the events as NDJSON to the
// export folder (a bucket URL), downloadable through signed, expiring URLs
// (HMAC-SHA256 with a key derived from the private key).
package privacy
