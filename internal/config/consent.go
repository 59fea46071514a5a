package config

import (
	"fmt"
	"regexp"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/consent"
)

var purposeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// validateConsent checks that each purpose names a single-valued, enabled
// bool attribute of the config (package consent).
func validateConsent(c consent.Config, attrs []attr.Definition) error {
	known := map[string]*attr.Definition{}
	for i := range attrs {
		known[attrs[i].ID] = &attrs[i]
	}
	for _, p := range c.Purposes() {
		at := func(field, format string, args ...any) error {
			return &Error{Field: "consent." + p + field, Err: fmt.Errorf(format, args...)}
		}
		if !purposeName.MatchString(p) {
			return at("", "a purpose is lower case letters, digits and _, starting with a letter (personalization, marketing, analytics, ...)")
		}
		pu := c[p]
		a := known[pu.Attribute]
		switch {
		case pu.Attribute == "":
			return at(".attribute", "is required: the id of the bool attribute that holds the consent")
		case a == nil:
			return at(".attribute", "no attribute %q is declared under attributes", pu.Attribute)
		case !a.IsEnabled():
			return at(".attribute", "attribute %s is disabled: nobody would have consent", a.ID)
		case a.Multiple():
			return at(".attribute", "attribute %s holds a list (type %s): consent needs one value per customer", a.ID, a.Type)
		case a.ResultType() != attr.DataBool:
			return at(".attribute", "attribute %s is a %s: consent needs a bool attribute (data_type: bool, true is consent given)", a.ID, a.ResultType())
		case pu.Missing != "" && pu.Missing != consent.MissingDenied && pu.Missing != consent.MissingGranted:
			return at(".missing", "%q must be %s (the default: no value is no consent) or %s", pu.Missing, consent.MissingDenied, consent.MissingGranted)
		}
	}
	return nil
}
