// Package customer answers GraphQL queries over customers (the live
// entities of the identity graph), next to the custom objects of package
// object: it is an object.GraphQLExtension.
//
// # Schema
//
// The query fields customer(identifier:) and customers(first:, after:,
// segment:) return type Customer: the entity's id, identifiers, event
// statistics, calculated attributes as typed fields of CustomerAttributes
// (one field per attribute definition in force, of the GraphQL type of
// its data type: String, Long, Float, Boolean, Date or Timestamp, a list
// when the attribute holds several values), published plugin properties,
// segments in force, and its events, newest first, paged Relay-style. The
// SDL follows the config in force, so the schema changes with it.
//
// customer(identifier:) takes category:value (a category the stitching
// rules read) or an entity id; an id merged away answers with its
// survivor (merged_from set), an id that split with split_into and its
// parts, as profile reads of the REST API do.
//
// Fields of object types declared with customer: <category> resolve to
// the Customer holding that identifier (object.Field.Customer).
//
// # Cost
//
// A page of customers is read with one query per part (profiles,
// identifiers, event statistics, attributes, properties, segments,
// events), made when the part is first selected, never one per customer.
// The limits of package object (depth, fields, aliases, nodes) apply to
// these fields as to the object types': events(first:) multiplies with
// customers(first:).
package customer
