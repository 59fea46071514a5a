package plugin

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Visualization is results.json's js, jsx and helper (the spec's §7.1):
// JavaScript a UI runs, kept as written; Weft runs none of it.
type Visualization struct {
	JS     *string `json:"js,omitempty"`
	JSX    *string `json:"jsx,omitempty"`
	Helper *string `json:"helper,omitempty"`
}

// ReportResults checks the results of a report plugin (ParseResults
// checked the rest): js, jsx and helper are text (or null) without NUL
// characters, and stages, batches and http, which belong to intelligence
// plugins, are refused. It returns the visualisation.
func ReportResults(res *Results) (*Visualization, error) {
	var r map[string]json.RawMessage
	if err := json.Unmarshal(res.Raw, &r); err != nil {
		return nil, failure(ReportKey, "Invalid results", "results.json is not a JSON object: "+err.Error(), "")
	}
	for _, key := range []string{"stages", "batches", "http"} {
		if v, ok := r[key]; ok && string(v) != "null" {
			return nil, failure(ReportKey, "Invalid results", fmt.Sprintf("results.json has %s: a report plugin has no stages, batches or http (they belong to intelligence plugins, spec §12)", key), "")
		}
	}
	v := &Visualization{}
	for _, f := range []struct {
		key  string
		into **string
	}{{"js", &v.JS}, {"jsx", &v.JSX}, {"helper", &v.Helper}} {
		raw, ok := r[f.key]
		if !ok || string(raw) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, failure(ReportKey, "Invalid results", fmt.Sprintf("results.json's %s must be text (JavaScript source) or null, not %.40s", f.key, raw), "")
		}
		if strings.ContainsRune(s, 0) {
			return nil, failure(ReportKey, "Invalid results", fmt.Sprintf(`results.json's %s holds a NUL character (\u0000): it is not JavaScript source`, f.key), "")
		}
		*f.into = &s
	}
	return v, nil
}
