package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/store"
)

func newPluginsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugins", Short: "List and run the plugins of weft.yaml, read their runs and logs, make development manifests"}
	logs := newJobsLogsCmd()
	logs.Short = "Print a plugin run's log lines, plugin stdout and stderr included (--follow until it ends)"
	cmd.AddCommand(newPluginsListCmd(), newPluginsRunCmd(), newPluginsRunsCmd(), newPluginsShowCmd(), logs, newPluginsManifestCmd(), newPluginsPredictCmd())
	return cmd
}

func newPluginsListCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the declared plugins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := cf.client().Plugins(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tGOAL\tSCHEDULE\tNEXT RUN\tCOMMAND")
			for _, p := range ps {
				goal, sched, next := "none", "-", "-"
				if p.Goal != nil {
					goal = p.Goal.Event
					if goal == "" {
						goal = p.Goal.Human()
					}
				}
				if p.Schedule != "" {
					sched = p.Schedule
				}
				if p.NextRunAt != nil {
					next = p.NextRunAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, goal, sched, next, strings.Join(p.Command, " "))
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func newPluginsRunCmd() *cobra.Command {
	var (
		cf     clientFlags
		params []string
		wait   bool
	)
	cmd := &cobra.Command{
		Use:   "run <name>",
		Short: "Start a run of a plugin and print its id",
		Long: "Start a run of a plugin. --param k=v (repeatable) answers a variable; the value is converted to the " +
			"variable's type (numbers are sent as floats); unanswered variables take their defaults.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := parseParams("", params)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			c := cf.client()
			run, err := c.RunPlugin(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), run.ID)
			if !wait {
				return nil
			}
			return waitPlugin(cmd.Context(), c, cmd.OutOrStdout(), run.ID)
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringArrayVar(&params, "param", nil, "a variable's answer as key=value (repeatable)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run to end and print its outcome; exit 1 unless it succeeds")
	return cmd
}

// pluginRunView is what the CLI reads of GET /v1/plugins/runs/{id}.
type pluginRunView struct {
	store.JobRun
	Plugin  string `json:"plugin"`
	Phase   string `json:"phase"`
	Batches *struct {
		Ranges  []any `json:"ranges"`
		Done    int   `json:"done"`
		Updates int64 `json:"updates"`
	} `json:"batches"`
	Published *struct {
		Properties map[string]int64 `json:"properties"`
		Unknown    int64            `json:"unknown"`
	} `json:"published"`
	Failure *struct {
		Stage  string `json:"stage"`
		Status struct {
			Code        string  `json:"code"`
			Title       *string `json:"title"`
			Explanation *string `json:"explanation"`
			Backtrace   *string `json:"backtrace"`
		} `json:"status"`
	} `json:"failure"`
}

func readPluginRun(ctx context.Context, c *client.Client, id string) (*pluginRunView, error) {
	raw, err := c.PluginRun(ctx, id)
	if err != nil {
		return nil, err
	}
	var v pluginRunView
	return &v, json.Unmarshal(raw, &v)
}

func waitPlugin(ctx context.Context, c *client.Client, w io.Writer, id string) error {
	for {
		v, err := readPluginRun(ctx, c, id)
		if err != nil {
			return err
		}
		if jobrunner.Finished(v.Status) {
			printPluginOutcome(w, v)
			if v.Status != store.RunComplete {
				return &exitError{code: 1, err: fmt.Errorf("plugin run %s ended %s: %s", id, v.Status, lastError(v.Errors))}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func printPluginOutcome(w io.Writer, v *pluginRunView) {
	fmt.Fprintf(w, "%s %s (%s) in %s\n", v.Plugin, strings.ToUpper(v.Status), v.Phase, duration(v.JobRun))
	if v.Batches != nil {
		fmt.Fprintf(w, "batches: %d of %d, %d updates\n", v.Batches.Done, len(v.Batches.Ranges), v.Batches.Updates)
	}
	if v.Published != nil {
		for id, n := range v.Published.Properties {
			fmt.Fprintf(w, "published %s on %d users\n", id, n)
		}
	}
	if f := v.Failure; f != nil {
		fmt.Fprintf(w, "stage %s failed: %s\n", f.Stage, f.Status.Code)
		if f.Status.Title != nil {
			fmt.Fprintf(w, "  title: %s\n", *f.Status.Title)
		}
		if f.Status.Explanation != nil {
			fmt.Fprintf(w, "  explanation: %s\n", *f.Status.Explanation)
		}
		if f.Status.Backtrace != nil && *f.Status.Backtrace != "" {
			fmt.Fprintf(w, "  backtrace:\n%s\n", *f.Status.Backtrace)
		}
	}
}

func newPluginsRunsCmd() *cobra.Command {
	var (
		cf     clientFlags
		plugin string
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List plugin runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			runs, err := cf.client().PluginRuns(cmd.Context(), plugin, limit)
			if err != nil {
				return err
			}
			printRuns(cmd.OutOrStdout(), runs)
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVar(&plugin, "plugin", "", "only runs of this plugin")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many runs")
	return cmd
}

func newPluginsShowCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "show <run-id>",
		Short: "Print a plugin run as JSON: status, stages, batches, results data, failure",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := cf.client().PluginRun(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			return writeJSONTo(cmd.OutOrStdout(), v)
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func newPluginsManifestCmd() *cobra.Command {
	var (
		cf      clientFlags
		stage   string
		params  []string
		results string
	)
	cmd := &cobra.Command{
		Use:   "manifest <name>",
		Short: "Print a development manifest with fresh signed URLs (weft plugins manifest p --stage initial > manifest.json)",
		Long: "Print a working manifest for running a plugin by hand: fresh datasets, signed URLs valid for --plugin-dev-url-ttl " +
			"(8h), and uploads open for the stage. The batch manifest covers the first batch of users and downloads from the " +
			"initial stage of the same development run; --results results.json (of your initial stage) gives it that " +
			"stage's batches options and maxBatchSize. A report plugin has one manifest, of stage report, whose dataUrl " +
			"serves its report made afresh.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := parseParams("", params)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			var res json.RawMessage
			if results != "" {
				if res, err = os.ReadFile(results); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			m, err := cf.client().PluginManifest(cmd.Context(), args[0], stage, in, res)
			if err != nil {
				return err
			}
			// Indented as it came: decoding would turn inputParams' 4.0
			// into 4, which a Python plugin reads as an int.
			var out bytes.Buffer
			if err := json.Indent(&out, m, "", "  "); err != nil {
				return err
			}
			out.WriteByte('\n')
			_, err = out.WriteTo(cmd.OutOrStdout())
			return err
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVar(&stage, "stage", "", "initial or batch (default initial), or report for a report plugin (its default)")
	cmd.Flags().StringArrayVar(&params, "param", nil, "a variable's answer as key=value (repeatable)")
	cmd.Flags().StringVar(&results, "results", "", "the initial stage's results.json, for the batch manifest's options")
	return cmd
}

func newPluginsPredictCmd() *cobra.Command {
	var (
		cf   clientFlags
		data string
	)
	cmd := &cobra.Command{
		Use:   "predict <name>",
		Short: "Send a prediction request to a plugin's deployment and print its answer",
		Long: "POST a JSON body (--data, or - for standard input; default {}) to /v1/plugins/<name>/predict, which passes it " +
			"to the requestPath of the plugin's deployed server, and print the server's answer. Exits 1 unless it answers 2xx.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := []byte(data)
			if data == "-" {
				var err error
				if body, err = io.ReadAll(cmd.InOrStdin()); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if !json.Valid(body) {
				return &exitError{code: 2, err: fmt.Errorf("--data is not JSON: %.100s", body)}
			}
			out, err := cf.client().PluginPredict(cmd.Context(), args[0], body)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if _, err := w.Write(out); err != nil {
				return err
			}
			if len(out) > 0 && out[len(out)-1] != '\n' {
				fmt.Fprintln(w)
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVar(&data, "data", "{}", "the request body, JSON; - reads it from standard input")
	return cmd
}
