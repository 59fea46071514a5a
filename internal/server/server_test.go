package server

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"loopback v4", Config{Addr: "127.0.0.1:7700"}, ""},
		{"loopback v6", Config{Addr: "[::1]:7700"}, ""},
		{"localhost", Config{Addr: "localhost:0"}, ""},
		{"all interfaces without keys", Config{Addr: ":7700"}, "not a loopback address"},
		{"public address without keys", Config{Addr: "10.1.2.3:7700"}, "--api-key"},
		{"public address with keys", Config{Addr: "0.0.0.0:7700", APIKeys: []string{"k"}}, ""},
		{"empty key", Config{Addr: "0.0.0.0:7700", APIKeys: []string{""}}, "empty key"},
		{"bad addr", Config{Addr: "nonsense"}, "--addr"},
		{"mysql url", Config{Addr: "127.0.0.1:0", DB: "mysql://u:pw@h/db"}, "postgres://"},
		{"postgres url", Config{Addr: "127.0.0.1:0", DB: "postgresql://h/db"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if c.err == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("error %v, want one with %q", err, c.err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	if got := redact("postgres://weft:hunter2@db:5432/weft"); strings.Contains(got, "hunter2") {
		t.Errorf("password shown: %s", got)
	}
}
