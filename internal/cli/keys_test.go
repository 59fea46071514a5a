package cli_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/cli"
	"github.com/weftdata/weft/internal/server"
)

// weftSplit runs the command line and returns stdout and stderr apart.
func weftSplit(t *testing.T, s *server.Server, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(append(args, "--server", s.URL()), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestKeysAndAuditCommands(t *testing.T) {
	t.Setenv("WEFT_API_KEY", "")
	t.Setenv("WEFT_API_KEYS", "")
	s := startServer(t, "boot")

	stdout, stderr, code := weftSplit(t, s, "keys", "create", "shop", "--scope", "ingest,read", "--source", "web", "--api-key", "boot")
	key := strings.TrimSpace(stdout)
	if code != 0 || !strings.HasPrefix(key, "weft_") || strings.Contains(key, "\n") || !strings.Contains(stderr, "Created key shop") || !strings.Contains(stderr, "sources web") {
		t.Fatalf("keys create: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	out, code := weft(t, s, "keys", "list", "--api-key", "boot")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "shop") || !strings.Contains(out, "ingest,read") || !strings.Contains(out, key[:13]+"...") || strings.Contains(out, key) {
		t.Fatalf("keys list: exit %d:\n%s", code, out)
	}
	stdout, _, code = weftSplit(t, s, "keys", "list", "--json", "--api-key", "boot")
	var list []struct{ ID, Name string }
	if err := json.Unmarshal([]byte(stdout), &list); code != 0 || err != nil || len(list) != 1 || list[0].Name != "shop" {
		t.Fatalf("keys list --json: exit %d, %v:\n%s", code, err, stdout)
	}

	// The new key reads, but is no admin: a 403 with a hint.
	if out, code := weft(t, s, "events", "tail", "--api-key", key); code != 0 {
		t.Errorf("events with the shop key: exit %d:\n%s", code, out)
	}
	out, code = weft(t, s, "keys", "list", "--api-key", key)
	if code == 0 || !strings.Contains(out, "403") || !strings.Contains(out, `scope \"admin\"`) && !strings.Contains(out, `scope "admin"`) || !strings.Contains(out, "hint:") {
		t.Errorf("keys list with a read key: exit %d:\n%s", code, out)
	}
	if out, code := weft(t, s, "keys", "create", "x", "--scope", "write", "--api-key", "boot"); code == 0 || !strings.Contains(out, `unknown scope "write"`) {
		t.Errorf("unknown scope: exit %d:\n%s", code, out)
	}

	out, code = weft(t, s, "keys", "revoke", list[0].ID, "--api-key", "boot")
	if code != 0 || !strings.Contains(out, "Revoked key shop") {
		t.Fatalf("keys revoke: exit %d:\n%s", code, out)
	}
	if out, code := weft(t, s, "events", "tail", "--api-key", key); code == 0 || !strings.Contains(out, "401") {
		t.Errorf("events with the revoked key: exit %d:\n%s", code, out)
	}
	if out, code := weft(t, s, "keys", "revoke", list[0].ID, "--api-key", "boot"); code == 0 || !strings.Contains(out, "404") {
		t.Errorf("second revoke: exit %d:\n%s", code, out)
	}

	out, code = weft(t, s, "audit", "--api-key", "boot")
	for _, want := range []string{"ACTION", "keys.create", "keys.revoke", "bootstrap", "shop", "404"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("audit: exit %d, no %q:\n%s", code, want, out)
		}
	}
	stdout, _, code = weftSplit(t, s, "audit", "--action", "keys.revoke", "--since", "1h", "--json", "--api-key", "boot")
	var entries []struct {
		Action string `json:"action"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(stdout), &entries); code != 0 || err != nil || len(entries) != 2 || entries[0].Status != 404 || entries[1].Status != 200 {
		t.Errorf("audit --action keys.revoke --json: exit %d, %v:\n%s", code, err, stdout)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if stdout, _, code := weftSplit(t, s, "audit", "--since", future, "--json", "--api-key", "boot"); code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("audit --since the future: exit %d:\n%s", code, stdout)
	}
	if out, code := weft(t, s, "audit", "--since", "last week", "--api-key", "boot"); code != 2 || !strings.Contains(out, "--since") {
		t.Errorf("audit --since nonsense: exit %d:\n%s", code, out)
	}
}

// TestKeysWriteKeyCommand: weft keys create makes a write key of the
// Segment tracking API, with the browser origins it allows.
func TestKeysWriteKeyCommand(t *testing.T) {
	t.Setenv("WEFT_API_KEY", "")
	t.Setenv("WEFT_API_KEYS", "")
	s := startServer(t, "boot")
	stdout, stderr, code := weftSplit(t, s, "keys", "create", "site", "--scope", "ingest", "--source", "site",
		"--allowed-origin", "https://Shop.example.com", "--allowed-origin", "http://localhost:8080/", "--api-key", "boot")
	key := strings.TrimSpace(stdout)
	if code != 0 || !strings.Contains(stderr, "allowed origins http://localhost:8080, https://shop.example.com") {
		t.Fatalf("keys create: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if out, code := weft(t, s, "keys", "list", "--api-key", "boot"); code != 0 || !strings.Contains(out, "ORIGINS") || !strings.Contains(out, "http://localhost:8080,https://shop.example.com") {
		t.Errorf("keys list: exit %d:\n%s", code, out)
	}
	send := func(origin string) int {
		req, _ := http.NewRequest("POST", s.URL()+"/v1/track", strings.NewReader(`{"userId":"u","event":"Signed Up"}`))
		req.SetBasicAuth(key, "")
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := send("https://shop.example.com"); got != 200 {
		t.Errorf("allowed origin: %d", got)
	}
	if got := send("https://elsewhere.example.com"); got != 403 {
		t.Errorf("other origin: %d", got)
	}
	if out, code := weft(t, s, "keys", "create", "x", "--scope", "ingest", "--source", "site", "--allowed-origin", "shop.example.com", "--api-key", "boot"); code == 0 || !strings.Contains(out, "scheme://host[:port]") {
		t.Errorf("bad origin: exit %d:\n%s", code, out)
	}
}
