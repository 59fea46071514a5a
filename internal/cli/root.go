package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/weftdata/weft/internal/client"
)

// Version is set at build time with -ldflags.
var Version = "dev"

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "weft:", err)
		if unauthorized(err) {
			fmt.Fprintln(stderr, "hint: the server requires an API key: pass --api-key KEY or set WEFT_API_KEY")
		}
		if forbidden(err) {
			fmt.Fprintln(stderr, "hint: the API key lacks the scope named above: use a key that grants it (weft keys list shows each key's scopes)")
		}
		var exit *exitError
		if errors.As(err, &exit) {
			return exit.code
		}
		return 1
	}
	return 0
}

// unauthorized says the server refused the API key (or its absence).
func unauthorized(err error) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized
}

// forbidden says the server refused the key for lack of a scope.
func forbidden(err error) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden
}

type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// NewRoot builds the command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "weft",
		Short:         "Weft: customer data and personalization platform",
		Long:          "Weft turns raw customer events into stitched profiles, scores them with plugins, runs scheduled jobs and ranks content for each visitor.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newServeCmd(),
		newQuickstartCmd(),
		newIngestCmd(),
		newEventsCmd(),
		newBenchCmd(),
		newApplyCmd(),
		newStitchCmd(),
		newProfilesCmd(),
		newIdentifiersCmd(),
		newIdentityCmd(),
		newAttributesCmd(),
		newSegmentsCmd(),
		newJobsCmd(),
		newPluginsCmd(),
		newExamplePluginCmd(),
		newNotificationsCmd(),
		newSettingsCmd(),
		newSecretsCmd(),
		newKeysCmd(),
		newAuditCmd(),
		newPrivacyCmd(),
		newDestinationsCmd(),
		newTrackingPlanCmd(),
	)
	return root
}

// env returns the environment variable or the default.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envBool(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
}

func envInt64(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envList(name string) []string {
	var out []string
	for _, s := range strings.Split(os.Getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// newLogger builds the process logger from --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}
