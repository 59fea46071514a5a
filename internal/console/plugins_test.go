package console_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// pageViews are page views of people from to to-1, each with an email,
// as NDJSON.
func pageViews(from, to int) string {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, `{"id":"pv%d","source_id":"web","type":"page_view","version":"1-0-0","event_time":%d,"payload":{"email":"p%d@example.org","url":"/"}}`+"\n", i, 1767323045000+i, i)
	}
	return b.String()
}

const stitchByEmail = `stitching:
  rules:
    - {identifier: email, event: web/page_view, value_expression: "payload->>'email'"}
`

// TestPluginRunPage runs the hyper-parameter test plugin of cmd/weft (three
// variations of x, the one nearest target wins) on a few people and shows
// the run's stages, variations with the winner, and batches.
func TestPluginRunPage(t *testing.T) {
	py, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Skip("python3 is not on PATH: the plugin page's test needs it")
	}
	script, err := filepath.Abs("../../cmd/weft/testdata/plugins/tuned.py")
	if err != nil {
		t.Fatal(err)
	}
	argv := []string{strings.TrimSpace(string(py)), script}
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, false, func(c *server.Config) {
				c.PluginCommands = []string{plugin.EscapePattern(plugin.CommandLine(argv))}
			})
			command, _ := json.Marshal(argv)
			api(t, s, "PUT", "/v1/config", "", stitchByEmail+fmt.Sprintf(`plugins:
  - name: tuned
    command: %s
    variables:
      - {name: log, type: text}
      - {name: slow, default: -1}
      - {name: sleep, default: 0}
      - {name: target, default: 2}
    hyperparameters:
      - {name: x, spec: "integer 1,2,3"}
      - {name: r, spec: "float 0:1"}
    max_variations: 3
`, command))
			api(t, s, "POST", "/v1/events", "", pageViews(0, 5))
			api(t, s, "POST", "/v1/stitching/run", "", "")

			b := newBrowser(t, s.URL())
			token := b.signIn(adminKey)
			_, _, page := b.get("/console/plugins")
			mustContain(t, page, `href="/console/plugins" aria-current="page"`, "<th scope=\"row\">tuned", "plugin:tuned", "No plugin run yet")
			params, _ := json.Marshal(map[string]any{"inputParams": map[string]any{"log": filepath.Join(t.TempDir(), "tuned.log")}})
			id := trigger(t, b, token, url.PathEscape("plugin:tuned"), string(params))
			if run := waitStatus(t, s, id, store.RunComplete, store.RunError); run.Status != store.RunComplete {
				t.Fatalf("plugin run: %+v", run)
			}

			_, _, page = b.get("/console/plugins")
			mustContain(t, page, `href="/console/plugins/runs/`+id+`"`, `status-complete`)
			status, _, page := b.get("/console/plugins/runs/" + id)
			if status != http.StatusOK {
				t.Fatalf("plugin run page: %d\n%s", status, page)
			}
			mustContain(t, page, `<dd id="phase">succeeded</dd>`, `<th scope="row">initial</th>`, "initial-v0", "initial-v2",
				`<dd id="batches-done">1 of 1</dd>`, "/model</code>: 5 users", `href="/console/jobs/runs/`+id+`"`)
			if n := len(regexp.MustCompile(`<tr class="winner">`).FindAllString(page, -1)); n != 1 {
				t.Errorf("%d winners, want 1", n)
			}
			winner := regexp.MustCompile(`(?s)<tr class="winner">.*?</tr>`).FindString(page)
			if !strings.Contains(winner, "&#34;x&#34;:2") {
				t.Errorf("the winner is not x = 2 (target): %s", winner)
			}
			if n := strings.Count(page, `<span class="status status-succeeded">succeeded</span>`); n < 4 {
				t.Errorf("%d succeeded stages and variations, want at least 4", n)
			}
			// The job run page links here; a run of another kind has no plugin page.
			_, _, page = b.get("/console/jobs/runs/" + id)
			mustContain(t, page, `href="/console/plugins/runs/`+id+`"`)
			other := trigger(t, b, token, "console_test_steps", `{"steps": 1}`)
			if status, _, page := b.get("/console/plugins/runs/" + other); status != http.StatusNotFound || !strings.Contains(page, "not a plugin run") {
				t.Errorf("plugin page of a job run: %d", status)
			}
		})
	}
}
