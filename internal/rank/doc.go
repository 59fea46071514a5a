// Package rank scores the insertions of a delivery request for its user:
// a prior from the retrieval rank or score, the content's engagement from
// logged impressions and actions, and personalization rules that match
// insertion properties to the user's attributes and plugin properties.
//
// # Scores
//
// Rank returns every insertion with its score and the weighted parts it
// is the sum of (Parts, the introspection data), best first, equal scores
// in request order. The weights are the use case's (UseCase, looked
// up by the request's use case name, else "default", else all 1 and no
// rules).
//
//   - Retrieval, 0 to 1: the retrieval score scaled to the request's range
//     of scores; else the retrieval rank discounted as in DCG,
//     1/log2(rank+2); else the insertion's place discounted alike.
//   - Engagement, 0 to 1: the content's weighted actions per impression,
//     smoothed with engagement_prior impressions at the global rate g, as
//     rate/(rate+g). A content never shown gets the neutral 0.5, as does
//     everything before any action is logged.
//   - Personalization: each rule compares the insertion property at its
//     item path with the user's values of an attribute or plugin property
//     (equal: any value; scale: weight × user's number × item's number).
//     disablePersonalization, or a user not in memory, gives 0.
//
// # State
//
// Everything a request reads is one immutable snapshot behind an atomic
// pointer: Rank takes no lock and never touches the database. Refresh
// (and Run, every delivery.refresh) builds the next snapshot with a few
// set-based statements (internal/store/query/rank.sql):
//
//   - content statistics from the delivery events after the last
//     watermark only (copy on write: the published maps are never
//     changed);
//   - the users: every live entity with a userId or anonUserId
//     identifier, most recently modified first, with the values of only
//     the attributes and properties the rules reference, read until the
//     byte cap (delivery.memory_bytes) is reached.
//
// Content statistics are kept first; if they alone pass the cap, the
// least engaged contents are dropped (they rank as new). Users fill what
// remains; those left out get no personalization until a refresh finds
// room for them. The bytes are accounted as in size.go. While a refresh
// builds the next snapshot the previous one stays in use, so the process
// briefly holds up to two.
package rank
