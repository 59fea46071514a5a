package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

// TestPseudonymKeyIsTheOperators: the pseudonyms of userIds
// (delivery.pseudonymize_user_id) are keyed with a key derived from the
// server's secret key, which the operator gives at start: the same key
// gives the same pseudonyms, in any process.
func TestPseudonymKeyIsTheOperators(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, SecretKeyFile: keyFile, StitchInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	post := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, got)
		}
	}
	post("PUT", "/v1/config", `{"delivery":{"pseudonymize_user_id":true}}`)
	post("POST", "/log", `{"userInfo":{"userId":"user-1"},"impression":[{"impressionId":"i1","contentId":"c1"}]}`)
	events, err := s.Store.EventList(context.Background(), &store.EventListParams{SourceID: "delivery", Type: "impression", Limit: 10})
	if err != nil || len(events) != 1 {
		t.Fatalf("impressions: %v %v", events, err)
	}
	var p struct {
		UserInfo struct {
			UserID string `json:"userId"`
		} `json:"userInfo"`
	}
	if err := json.Unmarshal(events[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	secret, _ := hex.DecodeString(strings.Repeat("ab", 32))
	derive := hmac.New(sha256.New, secret)
	derive.Write([]byte("weft delivery.pseudonymize_user_id v1"))
	m := hmac.New(sha256.New, derive.Sum(nil))
	m.Write([]byte("user-1"))
	if want := "p1:" + hex.EncodeToString(m.Sum(nil)[:16]); p.UserInfo.UserID != want {
		t.Fatalf("stored userId %q, want the pseudonym under the operator's key %q", p.UserInfo.UserID, want)
	}
}
