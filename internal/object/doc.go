// Package object holds custom objects: record types declared in weft.yaml
// under objects (the ODP custom objects that OCP jobs write), each stored
// in a real table, objects.<name>, so that SQL users and attribute SQL can
// read them.
//
// # Types and tables
//
// A Type has a name and fields of type string (TEXT), number (DOUBLE
// PRECISION), timestamp (TIMESTAMPTZ) or boolean (BOOLEAN); one or more
// string fields are primary and make up the table's primary key. Every
// table also has _updated_at, when the record was last upserted.
//
// Store.Sync brings the tables in line with the declared types when a
// config is applied, in one transaction: a new type creates its table, a
// new field adds a nullable column. Stored data is never dropped or
// converted: a field whose type changed, or a changed primary key, is a
// *DefinitionError naming objects[i].fields[j], and nothing changes. A
// type or field removed from the config keeps its table or column (and
// data); declaring it again with the same type brings it back.
//
// # Upserts
//
// Store.Upsert (job.Objects) and Store.UpsertJSON (POST /v1/objects/{type})
// validate each record and store the good ones with one set-based INSERT
// ... ON CONFLICT DO UPDATE per thousand rows, in one transaction. Strings
// are trimmed and an empty string is null; a null field keeps the stored
// value (coalesce), so a write never clears a field, as in ODP. Unknown
// fields, values of the wrong type and missing primary fields reject the
// record, naming the field. Records repeating a key within a batch merge
// in order.
//
// # Reading
//
// Store.List pages through a type's records in primary key order with
// opaque cursors and equality filters on primary fields. Store.GraphQL
// answers GraphQL queries over the same pages: the schema (Schema.SDL) has
// a query field per type, Relay-style (first, after, edges { cursor node
// }, pageInfo), with introspection.
//
// # Extensions and customer references
//
// Store.GraphQLWith adds a GraphQLExtension's query fields to the schema
// (package customer adds customer and customers); the limits apply to
// them too. A string field declared with customer: <category> holds
// customers' identifiers of that stitching category: with an extension,
// the node type gets a field <name>_customer resolving each value to its
// Customer, one Customers call per field and page.
package object
