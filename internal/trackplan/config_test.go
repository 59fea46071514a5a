package trackplan_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/trackplan"
)

// planWith is a plan whose one entry, shop/purchase, has the schema given
// as JSON.
func planWith(t *testing.T, schema string) trackplan.Config {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(schema), &v); err != nil {
		t.Fatal(err)
	}
	return trackplan.Config{Modes: map[string]trackplan.Mode{"shop": trackplan.ModeReject}, Events: []trackplan.Event{{Event: "shop/purchase", Schema: v}}}
}

// TestValidateRefusesBadSchemas: every bad schema is refused naming the
// entry and the place in the schema, and no reference outside the schema
// is followed: not a file that exists, not a server that answers.
func TestValidateRefusesBadSchemas(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"type": "object"}`))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "schema.json")
	if err := os.WriteFile(file, []byte(`{"type": "object"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	const place = "tracking_plan.events[shop/purchase].schema: "
	noLoad := "weft loads no schema from files or the network"
	for _, c := range []struct{ name, schema, want string }{
		{"unknown type", `{"type": "objekt"}`, place + "at '/type': value must be one of"},
		{"minimum not a number", `{"properties": {"total": {"minimum": "zero"}}}`, place + "at '/properties/total/minimum': got string, want number"},
		{"bad pattern", `{"properties": {"sku": {"pattern": "("}}}`, place + "at '/properties/sku/pattern': '(' is not valid regex"},
		{"required not a list", `{"required": "total"}`, place + "at '/required': got string, want array"},
		{"missing pointer", `{"$ref": "#/$defs/missing"}`, place + `json-pointer in "#/$defs/missing" not found`},
		{"file ref", `{"$ref": "file:///etc/passwd"}`, place + `$ref "file:///etc/passwd": ` + noLoad},
		{"existing file ref", `{"$ref": "file://` + file + `"}`, place + `$ref "file://` + file + `": ` + noLoad},
		{"relative ref", `{"$ref": "other.json"}`, place + `$ref "other.json": ` + noLoad},
		{"http ref", `{"$ref": "` + srv.URL + `/schema.json"}`, place + `$ref "` + srv.URL + `/schema.json": ` + noLoad},
		{"nested http ref", `{"properties": {"a": {"$ref": "` + srv.URL + `/a.json#/x"}}}`, noLoad},
		{"remote metaschema", `{"$schema": "` + srv.URL + `/meta"}`, place + `$ref "` + srv.URL + `/meta": ` + noLoad},
		{"huge schema", `{"description": "` + strings.Repeat("x", trackplan.SchemaMaxBytes) + `"}`, place + "65554 bytes, at most 65536"},
		{"no schema", `null`, place + "a schema is required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := trackplan.Validate(planWith(t, c.schema))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the schema server was asked %d times", n)
	}
}

// TestValidateRefusesBadPlans covers the rest of the section.
func TestValidateRefusesBadPlans(t *testing.T) {
	obj := map[string]any{"type": "object"}
	for _, c := range []struct {
		name string
		plan trackplan.Config
		want string
	}{
		{"bad mode", trackplan.Config{Modes: map[string]trackplan.Mode{"web": "strict"}}, `tracking_plan.modes.web: mode "strict" must be reject, flag or off`},
		{"bad source", trackplan.Config{Modes: map[string]trackplan.Mode{"a/b": "flag"}}, `tracking_plan.modes: "a/b" is not a source id`},
		{"bad event", trackplan.Config{Events: []trackplan.Event{{Event: "purchase", Schema: obj}}}, `tracking_plan.events[0].event: "purchase" must be source/type or source/type/version`},
		{"too many parts", trackplan.Config{Events: []trackplan.Event{{Event: "a/b/c/d", Schema: obj}}}, `tracking_plan.events[0].event`},
		{"empty part", trackplan.Config{Events: []trackplan.Event{{Event: "shop//1", Schema: obj}}}, `tracking_plan.events[0].event`},
		{"twice", trackplan.Config{Events: []trackplan.Event{{Event: "shop/purchase", Schema: obj}, {Event: "shop/purchase", Schema: obj}}}, `tracking_plan.events[shop/purchase]: the event type has a schema already`},
		{"too many", trackplan.Config{Events: make([]trackplan.Event, trackplan.EventsMax+1)}, "tracking_plan.events: 1001 entries, at most 1000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := trackplan.Validate(c.plan)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
	good := trackplan.Config{Modes: map[string]trackplan.Mode{"shop": "flag", "web": "off"}, Events: []trackplan.Event{
		{Event: "shop/purchase", Schema: obj}, {Event: "shop/purchase/2", Schema: true}, {Event: "web/page_view/1-0-0", Schema: map[string]any{"$ref": "#/$defs/p", "$defs": map[string]any{"p": obj}}},
	}}
	if err := trackplan.Validate(good); err != nil {
		t.Errorf("a good plan: %v", err)
	}
}

// TestConfigParse: the section is part of weft.yaml, validated with it.
func TestConfigParse(t *testing.T) {
	doc := `
tracking_plan:
  modes: {shop: reject}
  events:
    - event: shop/purchase
      schema:
        type: object
        properties: {total: {type: number, minimum: "0"}}
`
	_, err := config.Parse([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "tracking_plan.events[shop/purchase].schema: at '/properties/total/minimum': got string, want number") {
		t.Fatalf("got %v", err)
	}
	c, err := config.Parse([]byte(strings.Replace(doc, `minimum: "0"`, "minimum: 0", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c.TrackingPlan.Modes["shop"] != trackplan.ModeReject || len(c.TrackingPlan.Events) != 1 {
		t.Fatalf("parsed %+v", c.TrackingPlan)
	}
	// Stored as JSON and read back, it is the same plan.
	again, err := config.Parse([]byte(c.JSON()))
	if err != nil || !strings.Contains(again.JSON(), `"tracking_plan":{"modes":{"shop":"reject"}`) {
		t.Fatalf("round trip: %v %s", err, again.JSON())
	}
	if plain, err := config.Parse([]byte("stitching: {rules: []}")); err != nil || strings.Contains(plain.JSON(), "tracking_plan") {
		t.Fatalf("a config without a plan: %v %s", err, plain.JSON())
	}
}
