package customer

import (
	"fmt"
	"strings"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/object"
)

// graphQLTypes are the GraphQL types of the attributes' data types. Int
// is 32 bits in GraphQL, so 64-bit integers are a scalar Long.
var graphQLTypes = map[string]string{
	attr.DataString:   "String",
	attr.DataInt:      "Long",
	attr.DataFloat:    "Float",
	attr.DataBool:     "Boolean",
	attr.DataDate:     "Date",
	attr.DataDatetime: "Timestamp",
}

// fixedSDL is the part of the schema that does not follow the config.
// Timestamp and PageInfo are declared by package object.
const fixedSDL = `"A 64-bit signed integer, as a JSON number."
scalar Long

"A calendar date, YYYY-MM-DD."
scalar Date

"Any JSON value."
scalar JSON

"A customer: a live entity of the identity graph and its profile."
type Customer {
  "The entity id."
  id: String!
  "The id asked for, when it was merged into this customer."
  merged_from: String
  "Set when the id asked for split: the ids of its parts. The profile fields are then null and parts holds the customers."
  split_into: [String!]
  "The live customers an id that split became."
  parts: [Customer!]
  "The identifiers, by category then in the order first seen."
  identifiers("Only this category." category: String): [Identifier!]
  events_count: Long
  first_event_time: Timestamp
  last_event_time: Timestamp
  created_at: Timestamp
  modified_at: Timestamp
  "The calculated attributes of the config in force."
  attributes: CustomerAttributes
  "The published plugin properties, by id."
  properties("Only this plugin's." plugin: String): [Property!]
  "The ids of the segments in force the customer is a member of, sorted."
  segments: [String!]
  "The customer's events, newest first."
  events(
    "Page size, 0 to %[1]d."
    first: Int = %[2]d
    "A cursor: the page starts after its event."
    after: String
  ): EventConnection
}

"An identifier of a customer."
type Identifier {
  category: String!
  value: String!
}

"A published plugin property: id is plugin/run/name."
type Property {
  id: String!
  plugin: String!
  run_id: String!
  name: String!
  value: JSON
}

"An event of the log."
type Event {
  seq: Long!
  id: String!
  source_id: String!
  type: String!
  version: String!
  event_time: Timestamp!
  payload: JSON
  created_at: Timestamp!
}

type EventConnection {
  edges: [EventEdge!]!
  pageInfo: PageInfo!
}

type EventEdge {
  cursor: String!
  node: Event!
}

type CustomerConnection {
  edges: [CustomerEdge!]!
  pageInfo: PageInfo!
}

type CustomerEdge {
  cursor: String!
  node: Customer!
}
`

// SDL is the customers' schema under the config in force; the query
// fields named in taken (object types') are left out.
func (g *GraphQL) SDL(taken map[string]bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, fixedSDL, object.FirstMax, object.FirstDefault)
	b.WriteString("\n\"The calculated attributes of the config in force, typed by their data types.\"\ntype CustomerAttributes {\n")
	b.WriteString("  \"The ids of the attributes defined.\"\n  _defined: [String!]!\n")
	for i := range g.attrs {
		d := &g.attrs[i]
		typ := graphQLTypes[d.ResultType()]
		if !d.SingleValued() {
			typ = "[" + typ + "!]"
		}
		// Types and data types are plain words: %q is a GraphQL string.
		fmt.Fprintf(&b, "  %q\n  %s: %s\n", d.Type+" attribute, of data type "+d.ResultType()+".", d.ID, typ)
	}
	b.WriteString("}\n")
	var fields []string
	if !taken["customer"] {
		fields = append(fields, `  "The customer holding an identifier (category:value) or of an entity id; null when there is none."
  customer(identifier: String!): Customer`)
	}
	if !taken["customers"] {
		fields = append(fields, fmt.Sprintf(`  "The live customers in id order, or the members of a segment."
  customers(
    "Page size, 0 to %d."
    first: Int = %d
    "A cursor: the page starts after its customer."
    after: String
    "Only the members of this segment (an id of the config in force)."
    segment: String
  ): CustomerConnection`, object.FirstMax, object.FirstDefault))
	}
	if len(fields) > 0 {
		b.WriteString("\nextend type Query {\n" + strings.Join(fields, "\n") + "\n}\n")
	}
	return b.String()
}
