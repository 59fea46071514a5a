package bench

import "fmt"

// DemoTrackingPlan is a weft.yaml whose tracking plan has a schema for
// every demo event type, which every demo event matches, with mode (reject
// or flag) for every demo source: weft bench ingest --tracking-plan demo
// measures the cost of checking every event.
func DemoTrackingPlan(mode string) string {
	return fmt.Sprintf(`tracking_plan:
  modes: {web: %[1]s, crm: %[1]s, shop: %[1]s}
  events:
    - event: web/page_view
      schema:
        type: object
        required: [cookie_id, url]
        properties:
          cookie_id: {type: string, minLength: 1}
          url: {type: string, pattern: "^https?://"}
          title: {type: string}
          category: {type: string}
          referrer: {type: string}
          user_agent: {type: string}
    - event: web/form_submit
      schema:
        type: object
        required: [cookie_id, form]
        properties:
          cookie_id: {type: string}
          email: {type: string}
          form: {type: string}
          newsletter: {type: boolean}
    - event: crm/customer_update
      schema:
        type: object
        required: [crm_id]
        properties:
          crm_id: {type: string}
          email: {type: string}
          phone: {type: string}
          first_name: {type: string}
          last_name: {type: string}
          city: {type: string}
          consent_marketing: {type: boolean}
    - event: shop/purchase
      schema:
        type: object
        required: [order_id, currency, total, products]
        properties:
          order_id: {type: string, pattern: "^ORD-"}
          email: {type: string}
          crm_id: {type: string}
          currency: {enum: [EUR, USD, GBP]}
          total: {type: number, minimum: 0}
          products:
            type: array
            minItems: 1
            items: {$ref: "#/$defs/product"}
        $defs:
          product:
            type: object
            required: [sku, price, quantity]
            properties:
              sku: {type: string}
              name: {type: string}
              category: {type: string}
              price: {type: number, minimum: 0}
              quantity: {type: integer, minimum: 1}
`, mode)
}
