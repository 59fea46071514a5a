package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newAuditCmd() *cobra.Command {
	var (
		cf     clientFlags
		since  string
		action string
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List the audit trail: every change asked of the API, newest first",
		Long: `audit lists who (the key's name, "bootstrap" or "open") asked for which change (config.apply,
keys.create, keys.revoke, secrets.put, jobs.trigger, ...), when, under which request id, and
the answer's status, refused attempts included. It needs an admin key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since, time.Now())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			entries, err := cf.client().Audit(cmd.Context(), from, action, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), entries)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tKEY\tACTION\tSTATUS\tPATH\tREQUEST ID\tSUMMARY")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s %s\t%s\t%s\n", e.At.Format(time.RFC3339), orDash(e.KeyName), e.Action, e.Status, e.Method, e.Path, e.RequestID, e.Summary)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVar(&since, "since", "", "only entries from then on: a duration back from now (24h, 90m) or an RFC 3339 time")
	cmd.Flags().StringVar(&action, "action", "", "only entries of this action (config.apply, keys.create, ...)")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many entries (up to 1000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the entries as JSON")
	return cmd
}

// parseSince reads --since as parseWhen does.
func parseSince(s string, now time.Time) (time.Time, error) { return parseWhen("--since", s, now) }
