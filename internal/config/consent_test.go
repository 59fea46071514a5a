package config_test

import (
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/consent"
)

const consentAttrs = `attributes:
  - {id: ok_personal, type: last, data_type: bool, value: "payload->>'p'"}
  - {id: ok_off, type: last, data_type: bool, value: "payload->>'p'", enabled: false}
  - {id: city, type: last, value: "payload->>'city'"}
  - {id: flags, type: list, data_type: bool, value: "payload->>'p'"}
`

func TestParseConsent(t *testing.T) {
	c, err := config.Parse([]byte(consentAttrs + `consent:
  personalization: {attribute: ok_personal}
  research_2026: {attribute: ok_personal, missing: granted}
plugins:
  - {name: m, command: [x], purpose: research_2026}
  - {name: n, command: [x]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Consent.Filter(consent.Personalization); f == nil || f.Attribute != "ok_personal" || f.MissingGranted {
		t.Errorf("personalization filter %+v", f)
	}
	if f := c.Consent.Filter("research_2026"); f == nil || !f.MissingGranted {
		t.Errorf("research filter %+v", f)
	}
	if c.Consent.Filter(consent.Marketing) != nil || c.Plugins[1].PurposeOrDefault() != consent.Analytics || c.Plugins[0].PurposeOrDefault() != "research_2026" {
		t.Errorf("purposes %+v", c.Plugins)
	}
	if !strings.Contains(c.JSON(), `"consent":{"personalization":{"attribute":"ok_personal"},"research_2026":{"attribute":"ok_personal","missing":"granted"}}`) {
		t.Errorf("JSON %s", c.JSON())
	}
}

func TestParseConsentErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"consent:\n  personalization: {attribute: nope}\n", `consent.personalization.attribute: no attribute "nope" is declared under attributes`},
		{"consent:\n  personalization: {}\n", "consent.personalization.attribute: is required"},
		{"consent:\n  personalization: {attribute: city}\n", "consent.personalization.attribute: attribute city is a string: consent needs a bool attribute"},
		{"consent:\n  personalization: {attribute: flags}\n", "consent.personalization.attribute: attribute flags holds a list (type list)"},
		{"consent:\n  personalization: {attribute: ok_off}\n", "consent.personalization.attribute: attribute ok_off is disabled"},
		{"consent:\n  personalization: {attribute: ok_personal, missing: maybe}\n", `consent.personalization.missing: "maybe" must be denied`},
		{"consent:\n  Ads: {attribute: ok_personal}\n", "consent.Ads: a purpose is lower case letters"},
		{"consent:\n  personalization: {attribute: ok_personal, default: true}\n", "field default not found"},
		{"plugins:\n  - {name: m, command: [x], purpose: marketing}\n", `plugins[0].purpose: consent names no attribute for purpose "marketing"`},
	} {
		_, err := config.Parse([]byte(consentAttrs + c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.doc, err, c.want)
		}
	}
}
