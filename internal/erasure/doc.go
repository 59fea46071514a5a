// Package erasure forgets people: it deletes everything Weft holds about
// a set of entities (their events and those of the entities merged into
// them, identifiers, attribute values and cache counts, plugin properties
// and staged plugin data, delivery logs naming them), puts their
// identifiers on the suppression list, and makes sure the raw values are
// physically gone from the database files. The privacy requests
// (internal/privacy) and the retention job call it.
package erasure
