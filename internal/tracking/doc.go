// Package tracking reads the Segment HTTP Tracking API (the protocol of
// analytics.js, analytics-node, the mobile SDKs and RudderStack's SDKs)
// and maps its calls to events of the log.
//
// # Calls and events
//
// Each message (identify, track, page, screen, group, alias; a batch holds
// several) becomes one event of the write key's source: its type is the
// call kind, except for track, whose type is the message's event name
// ("Order Completed"); its version is [Version]; its id is the message's
// messageId; its payload is the whole message as sent, with writeKey left
// out and type, messageId, timestamp, originalTimestamp, sentAt and
// receivedAt set as described below. A message without messageId gets
// the hex MD5 of its source, kind and canonical bytes (sentAt, writeKey
// and receivedAt left out), so a retried message is the same event.
//
// # Time
//
// The client's time of a message is its timestamp, else its
// originalTimestamp. With a sentAt (the message's, else the batch's) it is
// corrected for the client's clock skew, as Segment does:
//
//	timestamp = receivedAt - (sentAt - client time)
//
// Without sentAt it is taken as sent; without a client time the event
// happened when Weft received it. The payload's timestamp is the corrected
// time (the event's time), originalTimestamp the client's time as sent.
//
// # Checks
//
// A message is refused, with its index and the field at fault, when it is
// over [MessageMax] bytes, has no userId and no anonymousId, is a track
// without event, a group without groupId, an alias without previousId or
// userId, has an unknown type (batch), a properties, traits, context or
// integrations that is not an object, a timestamp that is not ISO 8601,
// or text neither backend can store (\u0000, lone UTF-16 surrogates).
// The other messages of the batch are kept. A body over [BatchMax] bytes
// (after gzip decoding) is [ErrTooLarge]; one that is not a JSON object
// at all is [ErrMalformed].
package tracking
