// Package rank scores the insertions of a delivery request for its user:
// a prior from the retrieval rank or score, the content's engagement from
// logged impressions and actions, and personalization rules that match
// insertion properties to the user's attributes and plugin properties.
//
// Everything a request needs is held in memory and refreshed in the
// background from the store, under a byte cap, so ranking never waits on
// the database.
package rank
