package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

// crashyPlugin is a deployable plugin whose server exits at once: its
// run succeeds, its deployment fails.
const crashyPlugin = `plugins:
  - name: crashy
    command: ["/bin/sh", "-c", "echo '{\"status\":{\"code\":\"success\"},\"http\":{\"port\":5000,\"statusPath\":\"/status\",\"requestPath\":\"/predict\",\"startServerCmd\":\"echo no model here >&2; exit 3\"}}' > \"$2\"", "crashy"]
`

// TestDeployFailedNotifies: a deployment that fails sends an error
// notification to the activity log, linked to the run, with the reason,
// on both backends.
func TestDeployFailedNotifies(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			s := startBoundary(t, backend, Config{PluginCommands: []string{"/bin/sh *"}}, nil)
			if status, body := do(t, http.MethodPut, s.URL()+"/v1/config", crashyPlugin); status != http.StatusOK {
				t.Fatalf("PUT: %d %s", status, body)
			}
			status, body := do(t, http.MethodPost, s.URL()+"/v1/plugins/crashy/runs", "")
			var run store.JobRun
			if status != http.StatusAccepted || json.Unmarshal([]byte(body), &run) != nil {
				t.Fatalf("run: %d %s", status, body)
			}
			var note *store.Notification
			waitFor(t, "the failed deployment's notification", func() bool {
				var v struct{ Notifications []store.Notification }
				_, body := do(t, http.MethodGet, s.URL()+"/v1/notifications?level=error", "")
				if json.Unmarshal([]byte(body), &v) != nil {
					return false
				}
				for i, n := range v.Notifications {
					if n.Title == "Plugin deployment failed" {
						note = &v.Notifications[i]
					}
				}
				return note != nil
			})
			if note.Activity != "Plugin crashy" || note.RunID == nil || *note.RunID != run.ID ||
				!strings.Contains(note.Summary, "the deployment of run "+run.ID+" failed") || !strings.Contains(note.Summary, "no model here") {
				t.Fatalf("notification %+v", note)
			}
		})
	}
}
