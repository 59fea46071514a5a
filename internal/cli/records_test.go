package cli_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/cli"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/server"
)

// weft runs the command line against the server and returns its output
// and exit code.
func weft(t *testing.T, s *server.Server, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(append(args, "--server", s.URL()), &out, &errOut)
	return out.String() + errOut.String(), code
}

func TestSettingsAndSecretsCommands(t *testing.T) {
	s, err := server.Start(context.Background(), server.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), SecretKey: kv.GenerateSecretKey(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	ctx := context.Background()

	steps := []struct {
		args []string
		code int
		want []string // parts of the output
	}{
		{[]string{"settings", "set", "crm", "url=https://crm.example", "batch:=100", "tags:=[\"a\"]"}, 0, []string{"Set settings crm: fields batch, tags, url."}},
		{[]string{"settings", "set", "crm", "tags:=null", "region=eu"}, 0, []string{"fields batch, region, url."}},
		{[]string{"settings", "get", "crm"}, 0, []string{`"batch": 100`, `"region": "eu"`, `"url": "https://crm.example"`}},
		{[]string{"settings", "get", "crm", "region"}, 0, []string{"{\n  \"region\": \"eu\"\n}\n"}},
		{[]string{"settings", "set", "crm", "--replace", "--json", `{"only":1}`}, 0, []string{"fields only."}},
		{[]string{"settings", "list"}, 0, []string{"KEY", "crm", "only"}},
		{[]string{"settings", "delete", "crm", "only"}, 0, []string{"Removed from settings crm: fields only."}},
		{[]string{"settings", "get", "crm"}, 0, []string{"{}"}},
		{[]string{"settings", "set", "crm"}, 1, []string{"nothing to set"}},
		{[]string{"settings", "set", "crm", "n:=abc"}, 1, []string{"must be JSON"}},
		{[]string{"settings", "set", "crm", "novalue"}, 1, []string{"want FIELD=TEXT or FIELD:=JSON"}},
		{[]string{"secrets", "set", "crm", "token=s3cr3t-value", "user=importer"}, 0, []string{"Set secrets crm: fields token, user."}},
		{[]string{"secrets", "list"}, 0, []string{"crm", "token,user"}},
		{[]string{"secrets", "delete", "crm", "user"}, 0, []string{"fields user."}},
	}
	for _, st := range steps {
		out, code := weft(t, s, st.args...)
		if code != st.code {
			t.Fatalf("weft %s: exit %d, want %d: %s", strings.Join(st.args, " "), code, st.code, out)
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Fatalf("weft %s: output %q lacks %q", strings.Join(st.args, " "), out, w)
			}
		}
		if strings.Contains(out, "s3cr3t-value") {
			t.Fatalf("weft %s shows a secret value: %s", strings.Join(st.args, " "), out)
		}
	}
	got, err := s.Secrets.Get(ctx, "crm")
	if err != nil || len(got) != 1 || got["token"] != "s3cr3t-value" {
		t.Fatalf("secret read by a job: %v, %v", got, err)
	}

	var out bytes.Buffer
	code := cli.Main([]string{"secrets", "keygen"}, &out, io.Discard)
	if key, err := kv.ParseSecretKey(out.String()); code != 0 || err != nil || len(key) != kv.SecretKeyBytes {
		t.Fatalf("keygen printed %q (exit %d): %v", out.String(), code, err)
	}
}
