package pluginrun

import (
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
)

// TestFeaturesResolveLatestProperty: a property feature <plugin>/<name>
// reads the plugin's latest published run; an exact id, or a reference
// nothing answers yet, stays as given.
func TestFeaturesResolveLatestProperty(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	props := []plugin.Property{
		{ID: "rfm/20261101T000000Z/rfm_code", Plugin: "rfm", Name: "rfm_code", PublishedAt: t0},
		{ID: "rfm/20261102T000000Z/rfm_code", Plugin: "rfm", Name: "rfm_code", PublishedAt: t0.Add(24 * time.Hour)},
	}
	def := &plugin.Definition{Name: "p", Features: []plugin.FeatureSpec{
		{Property: "rfm/rfm_code"}, {Property: "rfm/20261101T000000Z/rfm_code"}, {Property: "other/score"},
	}}
	got := features(&config.Config{}, def, props)
	want := []string{"rfm/20261102T000000Z/rfm_code", "rfm/20261101T000000Z/rfm_code", "other/score"}
	for i, w := range want {
		if got[i].Property != w {
			t.Errorf("feature %d reads %q, want %q", i, got[i].Property, w)
		}
	}
}

// TestFeaturesScalarCustom: a custom attribute of one aggregate over base
// is a scalar feature, other custom attributes and lists are arrays.
func TestFeaturesScalarCustom(t *testing.T) {
	cfg := &config.Config{Attributes: []attr.Definition{
		{ID: "orders", Type: attr.TypeCustom, DataType: attr.DataInt, Query: "SELECT count(*) AS value FROM base WHERE type = 'purchase'"},
		{ID: "skus", Type: attr.TypeCustom, Query: "SELECT payload->>'sku' AS value FROM base"},
		{ID: "emails", Type: attr.TypeList, Value: "payload->>'email'"},
		{ID: "spend", Type: attr.TypeSum, Value: "1"},
	}}
	def := &plugin.Definition{Name: "p", Features: []plugin.FeatureSpec{
		{Attribute: "orders"}, {Attribute: "skus"}, {Attribute: "emails"}, {Attribute: "spend"},
	}}
	got := features(cfg, def, nil)
	for i, want := range []bool{false, true, true, false} {
		if got[i].Multiple != want {
			t.Errorf("feature %s: multiple %v, want %v", got[i].Column, got[i].Multiple, want)
		}
	}
}
