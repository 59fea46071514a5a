package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/plugin"
)

func TestPluginBatchDataValidation(t *testing.T) {
	t.Parallel()
	for doc, msg := range map[string]string{
		`{"properties": [], "updates": []}`:                                        "at least one property",
		`{"properties": ["a", "a"], "updates": []}`:                                `"a" is listed twice`,
		`{"properties": ["a/b"], "updates": []}`:                                   "slash",
		`{"properties": ["a"]}`:                                                    "updates is missing",
		`{"properties": ["a"], "updates": [["u1"]]}`:                               "updates[0] has 1 elements, want 2",
		`{"properties": ["a"], "updates": [[1, 2]]}`:                               "updates[0][0] must be the user id",
		`{"properties": ["a"], "updates": [["u1", {"x": 1}]]}`:                     "updates[0][1] (a) must be a number, a string, a boolean or null",
		`{"properties": ["a"], "updates": [["u1", 1], ["u2", null], ["u3", "x"]]}`: "updates[2][1] (a) is a text, but earlier values of a are of type number",
		`{"properties": ["a"], "updates": [], "extra": 1}`:                         `unknown field "extra"`,
		`[1]`: "cannot unmarshal array",
	} {
		_, err := plugin.ParseBatchData(strings.NewReader(doc))
		var in *plugin.InputError
		if !errors.As(err, &in) || in.Code != "invalid_data" || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", doc, err, msg)
		}
	}
	d, err := plugin.ParseBatchData(strings.NewReader(`{"category": "Model", "properties": ["Class", "Rating", "Vip"],
		"updates": [["user_1", "A", 0.43, true], ["user_2", "B", null, false]]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []plugin.PropertyDecl{{Name: "Class", Type: plugin.TypeText}, {Name: "Rating", Type: plugin.TypeNumber}, {Name: "Vip", Type: plugin.TypeBoolean}}
	if d.Category != "Model" || len(d.Rows) != 2 || d.Values[1][1] != nil || string(d.Values[0][1]) != "0.43" {
		t.Errorf("parsed %+v", d)
	}
	for i, p := range want {
		if d.Properties[i] != p {
			t.Errorf("property %d: %+v, want %+v", i, d.Properties[i], p)
		}
	}
}

func TestPluginPropertiesPublish(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newPluginServer(t, backend, plugin.Options{})
			s.workedProfiles(t)
			ctx := context.Background()
			var merged, survivor string
			err := s.store.QueryRowContext(ctx, "SELECT id, merged_into FROM entities WHERE merged_into IS NOT NULL ORDER BY id LIMIT 1").Scan(&merged, &survivor)
			if err != nil {
				t.Fatalf("the worked example has a merge: %v", err)
			}
			var other string
			if err := s.store.QueryRowContext(ctx, "SELECT id FROM entities WHERE merged_into IS NULL AND id <> $1 ORDER BY id LIMIT 1", survivor).Scan(&other); err != nil {
				t.Fatal(err)
			}
			run := "run-props"
			stage := func(batch int, doc string) {
				t.Helper()
				d, err := plugin.ParseBatchData(strings.NewReader(doc))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.plugins.Stage(ctx, run, batch, d); err != nil {
					t.Fatal(err)
				}
			}
			stage(0, `{"category": "Model", "properties": ["Class", "Rating"], "updates": [
				["`+survivor+`", "A", 0.1], ["`+other+`", "B", null], ["nobody", "C", 0.3]]}`)
			stage(1, `{"category": "Model", "properties": ["Class", "Rating"], "updates": [["`+merged+`", "X", 0.5]]}`)
			// A batch staged again (a resumed run) replaces its rows.
			stage(1, `{"category": "Model", "properties": ["Class", "Rating"], "updates": [["`+merged+`", "D", 0.9]]}`)

			props := func(id string) map[string]any {
				t.Helper()
				return decode[struct {
					Properties map[string]any `json:"properties"`
				}](t, s.do(t, "GET", "/v1/entities/"+id, nil, nil)).Properties
			}
			if p := props(survivor); len(p) != 0 {
				t.Fatalf("properties visible before publishing: %v", p)
			}
			started := time.Date(2026, 11, 23, 19, 17, 25, 0, time.UTC)
			decls := []plugin.PropertyDecl{{Name: "Class", Type: plugin.TypeText}, {Name: "Rating", Type: plugin.TypeNumber}}
			res, err := s.plugins.Publish(ctx, plugin.PublishParams{Plugin: "scorer", Run: run, Started: started, Category: "Model", Properties: decls})
			if err != nil {
				t.Fatal(err)
			}
			const prefix = "scorer/20261123T191725Z/"
			if res.Merged != 2 || res.Unknown != 1 || len(res.UnknownExamples) != 1 || res.UnknownExamples[0] != "nobody" ||
				res.Properties[prefix+"Class"] != 2 || res.Properties[prefix+"Rating"] != 1 {
				t.Errorf("publish: %+v", res)
			}
			// The merged-away id's update (later batch) wins on the survivor.
			if p := props(survivor); p[prefix+"Class"] != "D" || p[prefix+"Rating"] != 0.9 {
				t.Errorf("survivor %s: %v", survivor, p)
			}
			if p := props(merged); p[prefix+"Class"] != "D" {
				t.Errorf("merged %s read through its survivor: %v", merged, p)
			}
			if p := props(other); len(p) != 1 || p[prefix+"Class"] != "B" {
				t.Errorf("other %s: %v", other, p)
			}
			if res, err := s.plugins.Publish(ctx, plugin.PublishParams{Plugin: "scorer", Run: run, Started: started, Properties: decls}); err != nil || !res.Already {
				t.Errorf("publish again: %+v %v", res, err)
			}
			list := decode[struct{ Properties []plugin.Property }](t, s.do(t, "GET", "/v1/properties", nil, nil))
			if len(list.Properties) != 2 || list.Properties[0].ID != prefix+"Class" || list.Properties[0].Category != "Model" ||
				list.Properties[0].Type != "text" || list.Properties[1].Entities != 1 {
				t.Errorf("properties: %+v", list.Properties)
			}

			// A failed run's staging is discarded: nothing of it appears.
			run = "run-failed"
			stage(0, `{"properties": ["Class"], "updates": [["`+other+`", "Z"]]}`)
			if err := s.plugins.Discard(ctx, run); err != nil {
				t.Fatal(err)
			}
			var left int
			if err := s.store.QueryRowContext(ctx, "SELECT count(*) FROM plugin_property_staging").Scan(&left); err != nil || left != 0 {
				t.Errorf("staging rows left: %d %v", left, err)
			}
			if p := props(other); len(p) != 1 {
				t.Errorf("other after a failed run: %v", p)
			}

			// Published properties are dataset features of other plugins.
			err = s.plugins.DatasetCreate(ctx, "run-next", &plugin.Dataset{Key: "initial", Seed: "s", Now: time.Now(),
				Features: []plugin.Feature{{Column: "feature_class", Property: prefix + "Class"}, {Column: "feature_rating", Property: prefix + "Rating"}}})
			if err != nil {
				t.Fatal(err)
			}
			r := fetch(t, "GET", s.plugins.URL(plugin.KindData, "run-next", "initial", time.Hour), nil)
			var d datasetBody
			if err := json.Unmarshal(r.body, &d); err != nil {
				t.Fatalf("%v: %s", err, r.body)
			}
			found := 0
			for _, row := range d.Data {
				switch row[0] {
				case survivor:
					found++
					if row[9] != "D" || row[10] != 0.9 {
						t.Errorf("survivor row %v", row)
					}
				case other:
					found++
					if row[9] != "B" || row[10] != nil {
						t.Errorf("other row %v", row)
					}
				}
			}
			if found != 2 {
				t.Errorf("dataset rows %v", d.Data)
			}
		})
	}
}
