package destination_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/destination"
)

// validBase declares what destinations refer to: an identifier category,
// attributes (one a bool for consent, one a list), two segments.
const validBase = `stitching:
  rules:
    - {identifier: email, event: shop/signup, value_expression: "payload->>'email'"}
attributes:
  - {id: spend, type: sum, value: "(payload->>'total')::numeric"}
  - {id: marketing_ok, type: last, data_type: bool, value: "payload->>'marketing'"}
  - {id: skus, type: list, value: "payload->>'sku'"}
  - {id: off, type: last, data_type: bool, value: "payload->>'x'", enabled: false}
segments:
  - {id: vip, condition: {attribute: spend, op: ">=", value: 500}}
  - {id: lapsed, condition: {attribute: spend, op: "=", value: 0}}
destinations:
`

// hook is a valid webhook; cases replace one of its lines.
const hook = `  - id: crm_hook
    type: webhook
    url: https://crm.example.com/weft
    segments: [vip, lapsed]
    attributes: [spend]
    identifiers: [email]
    consent: marketing_ok
    secret: crm_hook_key
    batch_size: 500
    rate_limit: 50
    timeout: 5s
    max_attempts: 4
`

func TestValidateAcceptsWebhooks(t *testing.T) {
	for name, doc := range map[string]string{
		"segments":         hook,
		"changed profiles": "  - {id: profiles, type: webhook, url: http://127.0.0.1:9/x, attributes: [spend, skus], secret: k}\n",
		"identifiers only": "  - {id: ids, type: webhook, url: http://127.0.0.1:9/x, identifiers: [email], secret: k, cron: \"0 * * * * ?\"}\n",
		"file export":      "  - {id: files, type: file_export, target: \"file:///tmp/x/\", format: csv}\n",
	} {
		cfg, err := config.Parse([]byte(validBase + doc))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(cfg.Destinations) != 1 {
			t.Errorf("%s: %d destinations", name, len(cfg.Destinations))
		}
	}
}

// TestValidateRefuses: each fault is refused with the path of the field
// and the reason.
func TestValidateRefuses(t *testing.T) {
	for _, c := range []struct {
		name      string
		from, to  string // replaced in hook
		extra     string // appended destinations
		wantField string
		want      string
	}{
		{name: "bad id", from: "id: crm_hook", to: "id: CRM-hook", wantField: "destinations[0].id", want: `"CRM-hook" must match`},
		{name: "duplicate id", extra: strings.Replace(hook, "url: https://crm.example.com/weft", "url: https://b.example.com/", 1), wantField: "destinations[crm_hook].id", want: "declared twice"},
		{name: "unknown type", from: "type: webhook", to: "type: kafka", wantField: "destinations[crm_hook].type", want: `"kafka" must be webhook or file_export`},
		{name: "no url", from: "url: https://crm.example.com/weft", to: "url: \"\"", wantField: "destinations[crm_hook].url", want: "is required"},
		{name: "ftp url", from: "url: https://crm.example.com/weft", to: "url: ftp://crm.example.com/", wantField: "destinations[crm_hook].url", want: "must be an http:// or https:// URL"},
		{name: "url without host", from: "url: https://crm.example.com/weft", to: "url: \"https:///weft\"", wantField: "destinations[crm_hook].url", want: "has no host"},
		{name: "url with credentials", from: "url: https://crm.example.com/weft", to: "url: https://u:p@crm.example.com/", wantField: "destinations[crm_hook].url", want: "carries credentials"},
		{name: "unknown segment", from: "segments: [vip, lapsed]", to: "segments: [vip, churned]", wantField: "destinations[crm_hook].segments[1]", want: `no segment "churned" is declared under segments`},
		{name: "segment twice", from: "segments: [vip, lapsed]", to: "segments: [vip, vip]", wantField: "destinations[crm_hook].segments[1]", want: "listed twice"},
		{name: "unknown attribute", from: "attributes: [spend]", to: "attributes: [spend, total]", wantField: "destinations[crm_hook].attributes[1]", want: `no attribute "total" is declared under attributes`},
		{name: "unknown category", from: "identifiers: [email]", to: "identifiers: [phone]", wantField: "destinations[crm_hook].identifiers[0]", want: `"phone" is not an identifier category of the stitching rules (known: anon_user_id, email, user_id)`},
		{name: "consent unknown", from: "consent: marketing_ok", to: "consent: opted_in", wantField: "destinations[crm_hook].consent", want: `no attribute "opted_in"`},
		{name: "consent not bool", from: "consent: marketing_ok", to: "consent: spend", wantField: "destinations[crm_hook].consent", want: "consent needs a bool attribute"},
		{name: "consent a list", from: "consent: marketing_ok", to: "consent: skus", wantField: "destinations[crm_hook].consent", want: "holds a list"},
		{name: "consent disabled", from: "consent: marketing_ok", to: "consent: \"off\"", wantField: "destinations[crm_hook].consent", want: "is disabled"},
		{name: "no secret", from: "secret: crm_hook_key", to: "secret: \"\"", wantField: "destinations[crm_hook].secret", want: "is required"},
		{name: "batch too big", from: "batch_size: 500", to: "batch_size: 10001", wantField: "destinations[crm_hook].batch_size", want: "must be between 1 and 10000"},
		{name: "batch negative", from: "batch_size: 500", to: "batch_size: -1", wantField: "destinations[crm_hook].batch_size", want: "must be between 1 and 10000"},
		{name: "rate negative", from: "rate_limit: 50", to: "rate_limit: -2", wantField: "destinations[crm_hook].rate_limit", want: "requests per second"},
		{name: "bad timeout", from: "timeout: 5s", to: "timeout: soon", wantField: "destinations[crm_hook].timeout", want: `"soon" is not a duration`},
		{name: "timeout too long", from: "timeout: 5s", to: "timeout: 1h", wantField: "destinations[crm_hook].timeout", want: "at most 5m0s"},
		{name: "attempts", from: "max_attempts: 4", to: "max_attempts: 101", wantField: "destinations[crm_hook].max_attempts", want: "between 1 and 100"},
		{name: "bad cron", from: "max_attempts: 4", to: "max_attempts: 4\n    cron: \"every day\"", wantField: "destinations[crm_hook].cron", want: ""},
		{name: "file field on a webhook", from: "max_attempts: 4", to: "max_attempts: 4\n    format: csv", wantField: "destinations[crm_hook].format", want: "belongs to file_export"},
		{name: "nothing to send", from: "segments: [vip, lapsed]\n    attributes: [spend]\n    identifiers: [email]", to: "segments: []", wantField: "destinations[crm_hook].segments", want: "give segments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := validBase + strings.Replace(hook, c.from, c.to, 1) + c.extra
			if c.from != "" && !strings.Contains(hook, c.from) {
				t.Fatalf("the case replaces %q, which the webhook does not have", c.from)
			}
			_, err := config.Parse([]byte(doc))
			var fe *destination.FieldError
			var ce *config.Error
			if !errors.As(err, &fe) || !errors.As(err, &ce) {
				t.Fatalf("err %v, want a *config.Error wrapping a *destination.FieldError", err)
			}
			if !strings.HasPrefix(err.Error(), c.wantField+": ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %q, want %s: ...%s...", err, c.wantField, c.want)
			}
		})
	}
}
