// Package event turns request bodies into validated events for the log:
// it decodes JSON arrays and NDJSON, checks each record field by field,
// derives deterministic ids, removes repeats, enforces the catalog in strict
// mode and appends the good records to the store, reporting every bad one
// with its index and the field at fault.
//
// # Event ids
//
// A record's id is the client's "id" when given. Otherwise it is the hex MD5
// of four lines joined by "\n": the event time as
// 2006-01-02T15:04:05.000000Z (UTC), the source_id, the type, and the
// canonical payload (object keys sorted bytewise, no insignificant white
// space, strings escaped minimally, numbers exactly as written). Sending the
// same event again therefore yields the same id, and the log counts it as a
// duplicate instead of storing it twice. The version is deliberately not
// part of the hash, as in Meiro's customer_events.
package event
