package plugin

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestSigningKeyNotInDatabase reads plugin_keys as SQL from the config
// could, on both backends, and signs a URL with what it finds: the server
// refuses it. The key derives from the server key, outside the database,
// so another server key gives another signing key, and the same one the
// same (URLs survive a restart).
func TestSigningKeyNotInDatabase(t *testing.T) {
	for _, b := range dbtest.Backends {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, b)
			open := func(serverKey []byte) *Service {
				svc, err := Open(ctx, db, Options{BaseURL: "http://127.0.0.1:1", StorageURL: "file://" + filepath.ToSlash(t.TempDir()), ServerKey: serverKey})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { svc.Close() })
				return svc
			}
			serverKey := []byte(strings.Repeat("k", 32))
			svc := open(serverKey)
			var stored string
			if err := db.QueryRowContext(ctx, "SELECT key FROM plugin_keys").Scan(&stored); err != nil {
				t.Fatal(err)
			}
			raw, err := hex.DecodeString(stored)
			if err != nil {
				t.Fatal(err)
			}
			forged := (&signer{key: raw, now: time.Now}).path(Token{Kind: KindData, Run: "run1", Scope: "main", Expires: time.Now().Add(time.Hour)}, "")
			if _, _, err := svc.Parse("GET", strings.TrimPrefix(forged, PathPrefix)); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("a URL signed with the row of plugin_keys: %v, want %v", err, ErrBadSignature)
			}
			good := strings.TrimPrefix(svc.URL(KindData, "run1", "main", time.Hour)[len("http://127.0.0.1:1"):], PathPrefix)
			if _, _, err := svc.Parse("GET", good); err != nil {
				t.Fatalf("its own URL: %v", err)
			}
			if _, _, err := open(serverKey).Parse("GET", good); err != nil {
				t.Errorf("the same server key after a restart: %v", err)
			}
			if _, _, err := open([]byte(strings.Repeat("x", 32))).Parse("GET", good); !errors.Is(err, ErrBadSignature) {
				t.Errorf("another server key: %v, want %v", err, ErrBadSignature)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	c := Commands{Patterns: []string{"python3 /opt/plugins/*", `/usr/bin/weft example-plugin conversion-likelihood`, `odd\*name ?`}, Rule: "--plugin-command"}
	for _, tc := range []struct {
		argv []string
		ok   bool
	}{
		{[]string{"python3", "/opt/plugins/rfm/main.py"}, true},
		{[]string{"python3", "/opt/plugins/rfm/main.py", "--extra", "arg"}, true},
		{[]string{"python3", "-c", "import os; os.system('id')"}, false},
		{[]string{"python3", "/opt/plugins"}, false},
		{[]string{"/usr/bin/weft", "example-plugin", "conversion-likelihood"}, true},
		{[]string{"/usr/bin/weft", "example-plugin", "conversion-likelihood", "x"}, false},
		{[]string{"odd*name", "x"}, true},
		{[]string{"oddXname", "x"}, false},
		{[]string{"sh", "-c", "python3 /opt/plugins/x"}, false},
	} {
		if got := c.Allowed(tc.argv); got != tc.ok {
			t.Errorf("%q: allowed %v, want %v", tc.argv, got, tc.ok)
		}
	}
	err := c.Check(&Definition{Name: "evil", Command: []string{"sh", "-c", "id"}})
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `plugin evil: command "sh -c id" is not allowed`) || !strings.Contains(err.Error(), "rule: --plugin-command") {
		t.Errorf("refusal: %v", err)
	}
	if got := EscapePattern(`a*b?c\d`); got != `a\*b\?c\\d` {
		t.Errorf("EscapePattern: %s", got)
	}
	if (Commands{}).Allowed([]string{"true"}) {
		t.Error("no patterns allowed a command")
	}
}

// TestReachableBeyondLoopback tells a server on every interface from one
// on 127.0.0.1 only, as the deployer does before it calls a server
// deployed.
func TestReachableBeyondLoopback(t *testing.T) {
	lo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lo.Close()
	if at := reachableBeyondLoopback(lo.Addr().(*net.TCPAddr).Port); at != "" {
		t.Errorf("a loopback listener was reached at %s", at)
	}
	all, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	if at := reachableBeyondLoopback(all.Addr().(*net.TCPAddr).Port); at == "" {
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				t.Fatalf("a listener on every interface was not found (addresses %v)", addrs)
			}
		}
		t.Skip("this machine has no address but loopback")
	}
}
