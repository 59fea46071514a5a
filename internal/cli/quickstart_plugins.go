package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/examples/plugins/conversion-likelihood/likelihood"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/jobrunner"
)

// demoPlugin is the quickstart's plugin: the Go example, run by this very
// binary (weft example-plugin conversion-likelihood).
const demoPlugin = "conversion-likelihood"

// newExamplePluginCmd runs an example plugin embedded in weft, so that
// the quickstart needs no separate build: weft example-plugin
// conversion-likelihood manifest.json results.json.
func newExamplePluginCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "example-plugin conversion-likelihood (manifest.json results.json | serve [--port N])",
		Short:  "Run an example plugin embedded in weft (what weft quickstart declares), or its deployed server",
		Hidden: true,
		// serve --port N is the plugin's, not a flag of this command.
		DisableFlagParsing: true,
		Args:               cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != demoPlugin {
				return &exitError{code: 2, err: fmt.Errorf("no example plugin %q (there is %s)", args[0], demoPlugin)}
			}
			if code := likelihood.Main(append([]string{"conversion-likelihood"}, args[1:]...)); code != 0 {
				return &exitError{code: code, err: fmt.Errorf("%s exited %d", demoPlugin, code)}
			}
			return nil
		},
	}
}

// demoPluginConfig declares the example plugin, run by this binary.
func demoPluginConfig() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`
# Added by weft quickstart: the example plugin conversion-likelihood (a
# logistic regression of "did shop/purchase" on four attributes), run by
# this weft binary; it writes conversion_likelihood on every customer.
plugins:
  - name: %s
    command: %s
    goal: {event: shop/purchase/1-0-0}
    features: [{attribute: page_views}, {attribute: devices}, {attribute: favorite_page_category}, {attribute: newsletter}]
    variables:
      - {name: iterations, optional: true}
      - {name: max_batch_size, optional: true}
`, demoPlugin, quoteList(demoPluginCommand(exe))), nil
}

// demoPluginCommand is the example plugin's command: this binary.
func demoPluginCommand(exe string) []string { return []string{exe, "example-plugin", demoPlugin} }

// quoteList is a YAML flow list of double-quoted strings.
func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = strconv.Quote(it)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// pluginDemo runs the example plugin and prints its outcome and a few
// scores.
func pluginDemo(ctx context.Context, out io.Writer, c *client.Client, example string) error {
	run, err := c.RunPlugin(ctx, demoPlugin, nil)
	if err != nil {
		return fmt.Errorf("run the example plugin: %w", err)
	}
	var v pluginRunView
	var data struct {
		Summary string `json:"summary"`
	}
	for {
		raw, err := c.PluginRun(ctx, run.ID)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if jobrunner.Finished(v.Status) {
			var d struct {
				Data json.RawMessage `json:"data"`
			}
			if json.Unmarshal(raw, &d) == nil {
				json.Unmarshal(d.Data, &data) //nolint:errcheck // the summary is optional
			}
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Fprintf(out, "Ran the example plugin %s (run %s):\n", demoPlugin, run.ID)
	var outcome strings.Builder
	printPluginOutcome(&outcome, &v)
	fmt.Fprint(out, "  "+strings.ReplaceAll(strings.TrimSuffix(outcome.String(), "\n"), "\n", "\n  ")+"\n")
	if data.Summary != "" {
		fmt.Fprintf(out, "  %s\n", strings.ReplaceAll(strings.TrimSpace(data.Summary), "\n", "\n  "))
	}
	if v.Status != "complete" {
		return nil
	}
	cat, val, _ := strings.Cut(example, ":")
	e, err := c.EntityByIdentifier(ctx, cat, val)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(e.Properties))
	for id := range e.Properties {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(out, "Profile %s now has plugin properties:\n", e.ID)
	for _, id := range ids {
		fmt.Fprintf(out, "    %s: %s\n", id, e.Properties[id])
	}
	return nil
}
