package worked

import (
	"fmt"
	"strings"
)

// Record is an NDJSON record of an event: event is source/type, at a UTC
// time to the minute ("2024-01-01T10:00"), version 1-0-0.
func Record(id, event, at, payload string) string {
	p := strings.Split(event, "/")
	return fmt.Sprintf(`{"id":%q,"source_id":%q,"type":%q,"version":"1-0-0","event_time":%q,"payload":%s}`, id, p[0], p[1], at+":00Z", payload)
}

// Events are e1 to e9 of the example, as NDJSON records.
var Events = []string{
	Record("e1", "web/page_view", "2024-01-01T10:00", `{"user_id":"cookie-A","url":"/home"}`),
	Record("e2", "web/page_view", "2024-01-01T10:05", `{"user_id":"cookie-A","url":"/shoes"}`),
	Record("e3", "web/form_submit", "2024-01-02T09:00", `{"user_id":"cookie-B","email":" Jane@Example.com "}`),
	Record("e4", "crm/customer_update", "2024-01-03T12:00", `{"email":"jane@example.com","first_name":"Jane"}`),
	Record("e5", "eshop/purchase", "2024-01-04T15:00", `{"email":"JANE@example.com","total":"120.50","currency":"EUR","products":[{"sku":"S1","category":"shoes"},{"sku":"H1","category":"hats"}]}`),
	Record("e6", "eshop/purchase", "2024-01-05T16:00", `{"email":"jane@example.com","total":"79.50","products":[{"sku":"S2","category":"shoes"}]}`),
	Record("e7", "web/page_view", "2024-01-02T11:00", `{"user_id":"cookie-A","inbound_user_ids":["cookie-B"],"url":"/"}`),
	Record("e8", "web/page_view", "2024-01-06T08:00", `{"user_id":"cookie-C","url":"/"}`),
	Record("e9", "crm/customer_update", "2024-01-06T09:00", `{"email":"None"}`),
}

// TieEvent is e10, the tie check: a later purchase of hats by Jane.
var TieEvent = Record("e10", "eshop/purchase", "2024-01-07T10:00", `{"email":"jane@example.com","total":"15.00","products":[{"sku":"H2","category":"hats"}]}`)

const email = `CASE WHEN lower(trim(payload->>'email')) IN ('none','null','') THEN NULL ELSE lower(trim(payload->>'email')) END`

// Config is the example's weft.yaml: its stitching rules and attributes
// (data types added where the seed's semantics need them to compare
// numbers as numbers).
var Config = `stitching:
  rules:
    - {identifier: stitching_meiro_id, event: web/page_view, value_expression: "json_array_elements_text(json_build_array(payload->>'user_id', payload->'inbound_user_ids'->>0))"}
    - {identifier: stitching_meiro_id, event: web/form_submit, value_expression: "json_array_elements_text(json_build_array(payload->>'user_id', payload->'inbound_user_ids'->>0))"}
    - {identifier: stitching_email, event: web/form_submit/1-0-0, value_expression: "` + email + `"}
    - {identifier: stitching_email, event: crm/customer_update, value_expression: "` + email + `"}
    - {identifier: stitching_email, event: eshop/purchase, value_expression: "` + email + `"}
attributes:
  - {id: web_url_first, type: first, sources: [web], types: [page_view], value: "payload->>'url'"}
  - {id: web_url_last, type: last, sources: [web], types: [page_view], value: "payload->>'url'"}
  - {id: crm_first_name_last, type: last, sources: [crm], value: "payload->>'first_name'"}
  - {id: eshop_revenue_sum, type: sum, sources: [eshop], value: "(payload->>'total')::numeric"}
  - {id: eshop_order_avg, type: avg, sources: [eshop], value: "(payload->>'total')::numeric"}
  - {id: eshop_order_max, type: max, data_type: float, sources: [eshop], value: "(payload->>'total')::numeric"}
  - {id: eshop_order_min, type: min, data_type: float, sources: [eshop], value: "(payload->>'total')::numeric"}
  - {id: eur_revenue_sum, type: sum, sources: [eshop], value: "(payload->>'total')::numeric", filter: "payload->>'currency' = 'EUR'"}
  - {id: emails_list, type: list, value: "lower(trim(payload->>'email'))"}
  - {id: fav_category, type: most_frequent, sources: [eshop], value: "jsonb_array_elements(payload->'products')", outer_value: "value->>'category'"}
  - {id: rare_category, type: least_frequent, sources: [eshop], value: "jsonb_array_elements(payload->'products')", outer_value: "value->>'category'"}
  - {id: categories_count, type: num_of_unique, sources: [eshop], value: "jsonb_array_elements(payload->'products')", outer_value: "value->>'category'"}
  - {id: shoe_skus, type: list, sources: [eshop], value: "jsonb_array_elements(payload->'products')", outer_filter: "value->>'category' = 'shoes'", outer_value: "value->>'sku'"}
  - {id: spend_weighted_category, type: most_frequent, sources: [eshop], value: "jsonb_array_elements(payload->'products')", outer_value: "value->>'category'", weight: "(payload->>'total')::numeric"}
  - {id: crm_any_first_name, type: value, sources: [crm], value: "payload->>'first_name'"}
  - {id: purchases_custom, type: custom, data_type: int, query: "SELECT count(*) AS value FROM base WHERE type = 'purchase'"}
`

// ExpectedX are the values of entity X = {e1..e7} (numbers as numbers).
var ExpectedX = map[string][]string{
	"web_url_first":           {"/home"},
	"web_url_last":            {"/"},
	"crm_first_name_last":     {"Jane"},
	"eshop_revenue_sum":       {"200"},
	"eshop_order_avg":         {"100"},
	"eshop_order_max":         {"120.5"},
	"eshop_order_min":         {"79.5"},
	"eur_revenue_sum":         {"120.5"},
	"emails_list":             {"jane@example.com"},
	"fav_category":            {"shoes"},
	"rare_category":           {"hats"},
	"categories_count":        {"2"},
	"shoe_skus":               {"S1", "S2"},
	"spend_weighted_category": {"shoes"},
	"crm_any_first_name":      {"Jane"},
	"purchases_custom":        {"2"},
}

// ExpectedY are the values of entity Y = {e8}.
var ExpectedY = map[string][]string{
	"web_url_first":    {"/"},
	"web_url_last":     {"/"},
	"purchases_custom": {"0"},
}

// ExpectedZ are the values of entity Z = {e9}. The spec says Z has none,
// but its email "None" is a value of emails_list's expression (only the
// stitching rules null it), and a count over no purchases is 0.
var ExpectedZ = map[string][]string{
	"emails_list":      {"none"},
	"purchases_custom": {"0"},
}
