package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newTrackingPlanCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tracking-plan",
		Short: "Read what the tracking plan found: events that failed their schema",
	}
	cmd.AddCommand(newTrackingPlanViolationsCmd())
	return cmd
}

func newTrackingPlanViolationsCmd() *cobra.Command {
	var (
		cf        clientFlags
		eventType string
		since     string
		limit     int
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "violations",
		Short: "Count the events that failed their tracking plan schema, per type and rule, with recent examples",
		Long: `violations lists, per event type, rule (the schema location of the keyword that failed) and
mode (reject: refused; flag: stored), how many events failed, then the newest examples: event
id, source, time, message and the place in the payload. Counts are kept by the hour for 90
days; examples hold no payload value. It needs a read key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since, time.Now())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			r, err := cf.client().TrackingPlanViolations(cmd.Context(), eventType, from, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), r)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "EVENT TYPE\tRULE\tMODE\tCOUNT\tLAST")
			for _, n := range r.Counts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", n.EventType, n.Rule, n.Mode, n.Count, n.LastAt.Format(time.RFC3339))
			}
			fmt.Fprintln(tw, "\nRECORDED\tEVENT TYPE\tEVENT ID\tSOURCE\tMODE\tPATH\tMESSAGE")
			for _, x := range r.Examples {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.RecordedAt.Format(time.RFC3339), x.EventType, x.EventID, x.Source, x.Mode, orDash(x.InstancePath), x.Message)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVar(&eventType, "type", "", "only this event type: source/type/version, or source/type for every version")
	cmd.Flags().StringVar(&since, "since", "", "only violations from then on: a duration back from now (24h, 90m) or an RFC 3339 time")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many examples (up to 1000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the counts and examples as JSON")
	return cmd
}
