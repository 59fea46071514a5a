package plugin

import (
	"testing"
	"time"
)

func TestResolveProperty(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	prop := func(plugin string, run time.Time, name string, published time.Time) Property {
		return Property{ID: PropertyPrefix(plugin, run) + name, Plugin: plugin, Name: name, PublishedAt: published}
	}
	old := prop("rfm", t0, "rfm_code", t0.Add(time.Hour))
	newer := prop("rfm", t0.Add(time.Minute), "rfm_code", t0.Add(2*time.Hour))
	tied := prop("rfm", t0.Add(2*time.Minute), "rfm_code", t0.Add(2*time.Hour))
	other := prop("churn", t0.Add(time.Hour), "rfm_code", t0.Add(3*time.Hour))
	props := []Property{newer, old, other, tied}
	for _, tc := range []struct {
		ref  string
		want string
	}{
		{old.ID, old.ID},
		{"rfm/rfm_code", tied.ID}, // latest published, tie broken by id
		{"churn/rfm_code", other.ID},
		{"rfm/20990101T000000Z/rfm_code", ""},
		{"rfm/segment", ""},
		{"rfm", ""},
		{"rfm/", ""},
	} {
		got, ok := ResolveProperty(tc.ref, props)
		if ok != (tc.want != "") || got.ID != tc.want {
			t.Errorf("%q: got %q %v, want %q", tc.ref, got.ID, ok, tc.want)
		}
	}
}
