package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/config"
)

// TestJobPerformTimeout: jobs.<name>.perform_timeout is a positive
// duration or none; anything else is refused naming the field.
func TestJobPerformTimeout(t *testing.T) {
	c, err := config.Parse([]byte("jobs:\n  aa: {perform_timeout: 90s}\n  bb: {perform_timeout: none}\n  cc: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b, d := c.Jobs["aa"].PerformDeadline(), c.Jobs["bb"].PerformDeadline(), c.Jobs["cc"].PerformDeadline(); a != 90*time.Second || b != -1 || d != 0 {
		t.Fatalf("deadlines %v %v %v", a, b, d)
	}
	if !strings.Contains(c.JSON(), `"aa":{"perform_timeout":"90s"}`) {
		t.Fatalf("JSON = %s", c.JSON())
	}
	for _, bad := range []string{"0s", "-5s", "5", "soon"} {
		_, err := config.Parse([]byte("jobs:\n  aa: {perform_timeout: \"" + bad + "\"}\n"))
		want := `jobs.aa.perform_timeout: "` + bad + `" must be a positive duration, as 90s or 5m, or none`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %s", bad, err, want)
		}
	}
}
