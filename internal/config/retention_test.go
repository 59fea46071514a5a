package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/config"
)

func TestRetention(t *testing.T) {
	cfg, err := config.Parse([]byte("retention:\n  - {source: web, keep: 90d}\n  - {source: crm, keep: 36h}\n  - {source: \"*\", keep: 52w}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{90 * 24 * time.Hour, 36 * time.Hour, 52 * 7 * 24 * time.Hour}
	for i, r := range cfg.Retention {
		if d, err := r.KeepDuration(); err != nil || d != want[i] {
			t.Errorf("%+v: %v, %v; want %v", r, d, err, want[i])
		}
	}
	for _, c := range []struct{ doc, want string }{
		{"retention:\n  - {keep: 90d}\n", `retention[0].source: a source (or "*" for every other source) is required`},
		{"retention:\n  - {source: web, keep: 90d}\n  - {source: web, keep: 9d}\n", `retention[1].source: source "web" has an entry already`},
		{"retention:\n  - {source: \"a b\", keep: 90d}\n", `retention[0].source: source "a b" is not a source id`},
		{"retention:\n  - {source: web}\n", `retention[0].keep: keep "" must be a whole number of hours, days or weeks`},
		{"retention:\n  - {source: web, keep: 90}\n", `retention[0].keep: keep "90" must be`},
		{"retention:\n  - {source: web, keep: 0d}\n", `retention[0].keep: keep "0d" must be`},
		{"retention:\n  - {source: web, keep: 1.5d}\n", `retention[0].keep: keep "1.5d" must be`},
		{"retention:\n  - {source: web, keep: 3m}\n", `retention[0].keep: keep "3m" must be`},
		{"retention:\n  - {source: web, keep: 99999w}\n", `retention[0].keep: keep "99999w" is longer than 100 years`},
		{"retention:\n  - {source: web, keep: 9d, days: 3}\n", "field days not found"},
		{"retention:\n  web: 90d\n", "cannot unmarshal !!map into []config.Retention"},
	} {
		_, err := config.Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.doc, err, c.want)
		}
	}
}
