package consent_test

import (
	"reflect"
	"testing"

	"github.com/weftdata/weft/internal/consent"
)

func TestFilter(t *testing.T) {
	c := consent.Config{
		consent.Personalization: {Attribute: "ok_personal"},
		consent.Analytics:       {Attribute: "ok_stats", Missing: consent.MissingGranted},
	}
	if got := c.Purposes(); !reflect.DeepEqual(got, []string{"analytics", "personalization"}) {
		t.Errorf("purposes %v", got)
	}
	if c.Filter(consent.Marketing) != nil {
		t.Error("a purpose not named has a filter")
	}
	cond, args := c.Filter(consent.Personalization).In("e.id", 5)
	if cond != "e.id IN (SELECT entity_id FROM weft_consenting($5, CAST($6 AS BOOLEAN)))" || !reflect.DeepEqual(args, []any{"ok_personal", false}) {
		t.Errorf("personalization: %s %v", cond, args)
	}
	if _, args := c.Filter(consent.Analytics).In("id", 1); !reflect.DeepEqual(args, []any{"ok_stats", true}) {
		t.Errorf("analytics: %v", args)
	}
	var none *consent.Filter
	if cond, args := none.In("id", 1); cond != "TRUE" || args != nil {
		t.Errorf("nil filter: %s %v", cond, args)
	}
}
