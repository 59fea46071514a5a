package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/store"
)

func newJobsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "List, trigger, follow and terminate job runs (as `ocp jobs` does)"}
	cmd.AddCommand(newJobsListCmd(), newJobsTriggerCmd(), newJobsLogsCmd(), newJobsTerminateCmd(), newJobsShowCmd())
	return cmd
}

func newJobsListCmd() *cobra.Command {
	var (
		cf           clientFlags
		job, status  string
		since, until string
		limit        int
		asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := client.JobRunFilter{Job: job, Status: status, Limit: limit}
			if err := parseRange(&f.Since, &f.Until, since, until); err != nil {
				return err
			}
			runs, err := cf.client().JobRuns(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), runs)
			}
			printRuns(cmd.OutOrStdout(), runs)
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVar(&job, "job", "", "only runs of this job")
	cmd.Flags().StringVar(&status, "status", "", "only runs in this status: pending, scheduled, running, complete, error, terminated")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many runs")
	rangeFlags(cmd, &since, &until, "runs created")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the runs as JSON")
	return cmd
}

// rangeFlags declares --since and --until for what (runs created, lines
// logged).
func rangeFlags(cmd *cobra.Command, since, until *string, what string) {
	cmd.Flags().StringVar(since, "since", "", "only "+what+" from then on: a duration back from now (90m, 24h, 7d, 2w) or an RFC 3339 time")
	cmd.Flags().StringVar(until, "until", "", "only "+what+" before then: a duration back from now (2h, 1d) or an RFC 3339 time")
}

// parseRange reads --since and --until (parseWhen), at one now, and
// checks their order; a bad one is a usage error (exit 2).
func parseRange(from, to *time.Time, since, until string) error {
	now := time.Now()
	var err error
	if *from, err = parseWhen("--since", since, now); err == nil {
		*to, err = parseWhen("--until", until, now)
	}
	if err == nil && !from.IsZero() && !to.IsZero() && !from.Before(*to) {
		err = fmt.Errorf("--since (%s) must be before --until (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	return nil
}

func printRuns(w io.Writer, runs []store.JobRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tJOB\tSTATUS\tCREATED\tSTARTED\tDURATION\tERRORS")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Job, strings.ToUpper(r.Status),
			r.CreatedAt.Format(time.RFC3339), stamp(r.StartedAt), duration(r), lastError(r.Errors))
	}
	tw.Flush()
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func duration(r store.JobRun) string {
	switch {
	case r.StartedAt == nil:
		return "-"
	case r.CompletedAt == nil:
		return time.Since(*r.StartedAt).Round(time.Millisecond).String() + "+"
	}
	return r.CompletedAt.Sub(*r.StartedAt).Round(time.Millisecond).String()
}

func lastError(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	e := errs[len(errs)-1]
	if i := strings.IndexByte(e, '\n'); i >= 0 {
		e = e[:i]
	}
	if len(errs) > 1 {
		e = fmt.Sprintf("(%d) %s", len(errs), e)
	}
	return e
}

func newJobsTriggerCmd() *cobra.Command {
	var (
		cf       clientFlags
		params   []string
		paramsJS string
		wait     bool
	)
	cmd := &cobra.Command{
		Use:   "trigger <job>",
		Short: "Start a run of a job now and print its id",
		Long: "Start a run of a declared or registered job. Parameters override the declared ones: --params takes a JSON object, " +
			"--param k=v (repeatable) sets one (v is read as JSON when it parses, else as a string).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := parseParams(paramsJS, params)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			c := cf.client()
			run, err := c.TriggerJob(cmd.Context(), args[0], p)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), run.ID)
			if !wait {
				return nil
			}
			return waitAndReport(cmd.Context(), c, cmd.OutOrStdout(), run.ID)
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringArrayVar(&params, "param", nil, "a parameter as key=value (repeatable)")
	cmd.Flags().StringVar(&paramsJS, "params", "", "parameters as a JSON object")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run to end; exit 1 unless it completes")
	return cmd
}

// parseParams merges a JSON object and key=value pairs (the pairs win).
func parseParams(js string, pairs []string) (map[string]any, error) {
	p := map[string]any{}
	if js != "" {
		if err := json.Unmarshal([]byte(js), &p); err != nil {
			return nil, fmt.Errorf("--params must be a JSON object: %w", err)
		}
	}
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want key=value", kv)
		}
		var val any
		if json.Unmarshal([]byte(v), &val) != nil {
			val = v
		}
		p[k] = val
	}
	return p, nil
}

func waitAndReport(ctx context.Context, c *client.Client, w io.Writer, id string) error {
	for {
		run, err := c.JobRun(ctx, id)
		if err != nil {
			return err
		}
		if jobrunner.Finished(run.Status) {
			fmt.Fprintf(w, "%s %s after %d performs in %s\n", run.Job, strings.ToUpper(run.Status), run.Performs, duration(*run))
			if run.Status != store.RunComplete {
				return &exitError{code: 1, err: fmt.Errorf("run %s ended %s: %s", id, run.Status, lastError(run.Errors))}
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

func newJobsShowCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "show <run-id>",
		Short: "Print a run as JSON: status, checkpoint state, errors, times",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			run, err := cf.client().JobRun(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return writeJSONTo(cmd.OutOrStdout(), run)
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func newJobsLogsCmd() *cobra.Command {
	var (
		cf           clientFlags
		level, grep  string
		since, until string
		follow       bool
	)
	cmd := &cobra.Command{
		Use:   "logs <run-id>",
		Short: "Print a run's log lines in order (--follow until the run ends)",
		Long: "Print a run's log lines in order, as `ocp app logs --jobId` does: --level keeps a level and above, --grep the lines whose message " +
			"or fields match a regular expression (Go's syntax; (?i) ignores case), --since and --until a time range.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id := cf.client(), args[0]
			f := client.JobLogFilter{Level: strings.ToLower(level), Grep: grep}
			if err := parseRange(&f.Since, &f.Until, since, until); err != nil {
				return err
			}
			for {
				logs, err := c.JobLogs(cmd.Context(), id, f)
				if err != nil {
					return err
				}
				for _, l := range logs {
					fmt.Fprintf(cmd.OutOrStdout(), "%s %-5s %s%s\n", l.At.Format(time.RFC3339Nano), strings.ToUpper(l.Level), l.Message, fields(l.Fields))
					f.After = l.ID
				}
				if !follow || len(logs) > 0 {
					if !follow {
						return nil
					}
					continue
				}
				run, err := c.JobRun(cmd.Context(), id)
				if err != nil {
					return err
				}
				if jobrunner.Finished(run.Status) {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(500 * time.Millisecond):
				}
			}
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVar(&level, "level", "", "only lines at this level or above: debug, info, warn, error")
	cmd.Flags().StringVar(&grep, "grep", "", "only lines whose message or fields match this regular expression")
	rangeFlags(cmd, &since, &until, "lines logged")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until the run ends")
	return cmd
}

// fields prints a log line's fields as k=v pairs.
func fields(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, _ := json.Marshal(m[k])
		s := string(v)
		if str, ok := m[k].(string); ok && !strings.ContainsAny(str, " \"=") {
			s = str
		}
		b.WriteString(" " + k + "=" + s)
	}
	return b.String()
}

func newJobsTerminateCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "terminate <run-id>",
		Short: "Stop a run: a waiting one at once, a running one at its next checkpoint",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			run, err := cf.client().TerminateRun(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			state := strings.ToUpper(run.Status)
			if run.Status == store.RunRunning {
				state = "RUNNING, stopping at its next checkpoint"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", run.ID, state)
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func newNotificationsCmd() *cobra.Command {
	var (
		cf         clientFlags
		level, job string
		limit      int
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "notifications",
		Short: "List the activity log (what jobs told users), newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			notes, err := cf.client().Notifications(cmd.Context(), level, job, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), notes)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tLEVEL\tACTIVITY\tTITLE\tSUMMARY")
			for _, n := range notes {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.At.Format(time.RFC3339), strings.ToUpper(n.Level), n.Activity, n.Title, n.Summary)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVar(&level, "level", "", "only this level: info, success, warn, error")
	cmd.Flags().StringVar(&job, "job", "", "only notifications of this job")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
