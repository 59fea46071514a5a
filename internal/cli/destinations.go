package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/internal/store"
)

func newDestinationsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "destinations", Short: "List the destinations of weft.yaml with their cursor and runs, read and replay their dead letters"}
	cmd.AddCommand(newDestinationsListCmd(), newDestinationsShowCmd(), newDestinationsDeadLettersCmd(), newDestinationsReplayCmd())
	return cmd
}

func newDestinationsListCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the destinations: type, cursor, pending changes, last run, dead letters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := cf.client().Destinations(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTYPE\tCURSOR\tPENDING\tLAST RUN\tDEAD LETTERS")
			for _, d := range list {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\n", d.ID, d.Type, d.Cursor, d.Pending, newestRun(d.LastRuns), d.DeadLetters)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

// newestRun is the newest run as STATUS at TIME, or never.
func newestRun(runs []*store.JobRun) string {
	if len(runs) == 0 {
		return "never"
	}
	r := runs[0]
	at := r.CreatedAt
	if r.CompletedAt != nil {
		at = *r.CompletedAt
	}
	return strings.ToUpper(r.Status) + " " + at.UTC().Format(time.RFC3339)
}

func newDestinationsShowCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "show <id>",
		Short: "Print a destination: its definition, cursor, pending changes, last runs and dead letters (JSON)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := cf.client().Destination(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), d)
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func newDestinationsDeadLettersCmd() *cobra.Command {
	var (
		cf    clientFlags
		after int64
		limit int
		full  bool
	)
	cmd := &cobra.Command{
		Use:   "dead-letters <id>",
		Short: "List a destination's dead letters: requests its receiver refused for good, with the answer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			list, next, err := cf.client().DeadLetters(cmd.Context(), args[0], after, limit)
			if err != nil {
				return err
			}
			if full {
				return printJSON(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKEY\tITEMS\tSTATUS\tCREATED\tREPLAYED\tANSWER")
			for _, dl := range list {
				replayed := "-"
				switch {
				case dl.ReplayedAt != nil:
					replayed = dl.ReplayedAt.Format(time.RFC3339)
				case dl.ReplayRequestedAt != nil:
					replayed = "requested"
				}
				fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t%s\n", dl.ID, dl.IdempotencyKey, dl.Items, dl.Status,
					dl.CreatedAt.Format(time.RFC3339), replayed, oneLine(dl.Answer, 60))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if next > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "more: --after %d\n", next)
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().Int64Var(&after, "after", 0, "list the dead letters after this id")
	cmd.Flags().IntVar(&limit, "limit", 100, fmt.Sprintf("how many (1 to %d)", destination.DeadLettersLimitMax))
	cmd.Flags().BoolVar(&full, "json", false, "print them as JSON, request bodies included")
	return cmd
}

// oneLine is s on one line, cut to n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func newDestinationsReplayCmd() *cobra.Command {
	var (
		cf  clientFlags
		ids []string
	)
	cmd := &cobra.Command{
		Use:   "replay <id>",
		Short: "Send a destination's dead letters again (all not yet delivered, or --id N, repeatable) and print the run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var nums []int64
			for _, s := range ids {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--id %q is not a dead letter id (a number)", s)}
				}
				nums = append(nums, n)
			}
			res, err := cf.client().ReplayDeadLetters(cmd.Context(), args[0], nums)
			if err != nil {
				return err
			}
			if res.Run == nil {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), "Nothing to replay.")
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Replaying %d dead letters in run %s.\n", res.Replaying, res.Run.ID)
			return err
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringSliceVar(&ids, "id", nil, "a dead letter to replay (repeatable; default all not yet delivered)")
	return cmd
}
