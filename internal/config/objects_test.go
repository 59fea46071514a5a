package config_test

import (
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
)

func TestParseObjects(t *testing.T) {
	doc := `objects:
  - name: ocp_quickstart_offline_stores
    display_name: OCP Quickstart Offline Stores
    fields:
      - {name: ocp_quickstart_offline_store_id, type: string, primary: true, display_name: Store ID, description: ID of the Offline Store}
      - {name: opened, type: timestamp}
`
	c, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Objects) != 1 || len(c.Objects[0].Fields) != 2 || !c.Objects[0].Fields[0].Primary || c.Objects[0].Fields[1].Type != "timestamp" {
		t.Fatalf("parsed %+v", c.Objects)
	}
	if !strings.Contains(c.JSON(), `"objects":[{"name":"ocp_quickstart_offline_stores","display_name":"OCP Quickstart Offline Stores","fields":[{"name":"ocp_quickstart_offline_store_id","type":"string","primary":true,`) {
		t.Errorf("normalized %s", c.JSON())
	}
	j, err := config.Parse([]byte(c.JSON()))
	if err != nil || j.JSON() != c.JSON() {
		t.Errorf("JSON round trip: %v\n%s", err, j.JSON())
	}
	for _, c := range []struct{ doc, want string }{
		{strings.Replace(doc, "primary: true", "primary: yes please", 1), "cannot unmarshal"},
		{strings.Replace(doc, "type: timestamp", "type: date", 1), `objects[0].fields[1] (opened): type "date" is not one of string, number, timestamp, boolean`},
		{strings.Replace(doc, ", primary: true", "", 1), "objects[0] (ocp_quickstart_offline_stores): has no primary field"},
		{doc + "      - {name: opened, type: string}\n", `objects[0].fields[2] (opened): field "opened" is declared twice`},
		{strings.Replace(doc, "display_name: OCP", "alias: x\n    display_name: OCP", 1), "field alias not found"},
	} {
		_, err := config.Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.doc, err, c.want)
		}
	}
}
