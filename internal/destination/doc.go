// Package destination carries what Weft knows to other systems: each
// destination of weft.yaml (destinations:) is a job that sends segment
// membership changes or changed profiles to a webhook, or writes a
// segment's members or every profile to files (local, S3, Azure Blob),
// from a cursor per destination so that nothing is lost or skipped.
//
// # Framework
//
// Validate checks the destinations: section (config.Validate calls it);
// each type registers its own checks and its job kind (RegisterType), so
// the webhook and the file export are built apart. Every destination runs
// as the job destination:<id> of kind destination_<type> (pipeline
// declares them), on its cron; a webhook without one runs every minute,
// and the segments job triggers the webhooks of segments after a run that
// changed memberships. Service serves /v1/destinations: cursor, pending
// changes, last runs, dead letters, replays.
//
// # Webhook
//
// A run sends batches, one after the other (a Perform sends those of
// about a second), until nothing is left; the dead letters asked to be
// replayed when it started go first. For a webhook of segments, a batch
// is up to batch_size changes of its segments after the cursor
// (destination_cursors), in seq order, read ahead with the identifiers
// and attributes of their entities in windows of about 50,000 changes
// (one query of each table per window, which selects the entities by the
// window's seq range). The position is read once per run and kept as it
// is committed. Bodies are written as bytes, the same json.Marshal would
// make, without reflection over maps. A resend after a
// crash covers the same changes under the same idempotency key
// (<id>:<first seq>-<last seq>): a full batch is found again as it was
// (seq order is commit order), and the end of a partial one is committed
// before its first request (destination_state). The cursor moves to the
// batch's end only after a 2xx, or after a refusal recorded as a dead
// letter in the same transaction: a SIGKILL at any point loses nothing,
// and at worst sends a batch again under its key.
//
// A webhook without segments sends changed profiles: once per run the
// live profiles whose chosen attributes and identifiers hash otherwise
// than as last sent are queued, set-based (destination_profile_queue);
// each batch takes the first batch_size of the queue, and the hashes sent
// replace the old ones (destination_profiles) in the transaction that
// dequeues them.
//
// Requests are signed: Weft-Signature is v1=<hex HMAC-SHA256 of
// "<Weft-Timestamp>.<body>"> keyed with the field key of the secret the
// destination names (Sign, Verify). 5xx, 429 (Retry-After honoured, in
// seconds or as an HTTP date), timeouts and broken connections are tried
// again with exponential backoff and jitter, max_attempts times in a run;
// any other answer but a 2xx is a dead letter. rate_limit spaces the
// requests of a run.
//
// With consent: <bool attribute>, the changes of profiles without it true
// are left out (the cursor moves past them) and such profiles are not
// queued.
package destination
