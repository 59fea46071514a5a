// Package kv implements the stores the job runtime hands to job code
// (job.Env): the kv store (job.KV), settings and secrets (job.Store), over
// the database, the same on DuckDB and PostgreSQL.
//
// # Records
//
// A record is a JSON object stored under a key, in one table (kv_records,
// migration 011) with a store column. A record with no fields is not stored:
// Get of a missing key answers an empty record, writing an empty record
// deletes the key, and Exists reports whether a key holds fields. A record
// larger than job.MaxRecordBytes as JSON is refused with an error wrapping
// job.ErrTooLarge that names the key and the size.
//
// # Compare-and-swap
//
// Every write reads the record and its version, computes the new record and
// writes it only if the version is still the one it read; each write sets a
// new random version, so a record deleted and created again never repeats
// one. When the version changed (another process wrote), the write starts
// over with the new record, up to MaxAttempts times, then fails with
// ErrContention. On DuckDB a transaction conflict counts as a changed
// version. Within a process, writes of one key wait for each other, so N
// concurrent Increments from goroutines give +N without retries; a Patch
// update function must therefore not write the key it is patching.
//
// # Scopes
//
// New returns the shared kv store (store "kv", job.Env.SharedKV); ForJob
// the store of one job (store "kv:<job>", its job.Env.KV), which the job
// runtime hands each run of the job.
//
// # Expiry
//
// KV.Expire gives a record an absolute expiry, and so does every write of
// the store WithTTL returns (now plus its ttl) and a PatchTTL update that
// sets a ttl. An expired record reads as missing and is deleted by the
// next read of it, or by DeleteExpired, which the built-in job kv_sweep
// (SweepInfo) runs hourly; a write to an expired key starts a new record
// without expiry. Other writes to a live record keep its expiry.
//
// # Lists and sets
//
// Lists are JSON arrays. Sets (job.NumberSet, job.StringSet) are stored
// as a JSON object with one member, "$numberSet" or "$stringSet", holding
// the sorted values, and read back as sets; an object of that shape put
// by job code reads back as a set too. A number set refuses NaN and
// infinities, a string set strings that are not UTF-8, which JSON could
// not store as given. A list or set operation on a field of another type
// fails (job.ErrNotList, job.ErrNotSet) and writes nothing, for every
// field of a Multi form; so does an increment of a field that is not a
// number. Every Multi form is one read and one compare-and-swap write of
// the record, whatever the number of fields.
//
// # Secrets
//
// Secrets are encrypted at rest with AES-256-GCM under a 32-byte key the
// operator gives (weft serve --secret-key-file, or WEFT_SECRET_KEY; see
// ParseSecretKey), with a random nonce per write and the key of the record
// as additional data, so a ciphertext copied to another key does not
// decrypt. Without a key, writes fail with ErrNoSecretKey saying how to set
// one; a record written under another key fails to read with ErrWrongKey.
// Listing secrets gives keys and field names, never values.
package kv
