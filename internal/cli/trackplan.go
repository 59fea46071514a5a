package cli

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/weftdata/weft/internal/bench"
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

// trackingPlanFlags are weft bench ingest's --tracking-plan and
// --tracking-plan-mode.
type trackingPlanFlags struct{ plan, mode string }

func (f *trackingPlanFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.plan, "tracking-plan", "", `a weft.yaml with a tracking plan to apply before sending (it replaces the server's configuration), or "demo" for a schema per demo event type`)
	fs.StringVar(&f.mode, "tracking-plan-mode", "reject", "the mode of every source of the demo tracking plan: reject or flag")
}

// config is the weft.yaml to apply: nil, a file's, or the demo plan.
func (f *trackingPlanFlags) config() ([]byte, error) {
	switch {
	case f.plan == "":
		return nil, nil
	case f.plan == "demo" && (f.mode == "reject" || f.mode == "flag"):
		return []byte(bench.DemoTrackingPlan(f.mode)), nil
	case f.plan == "demo":
		return nil, fmt.Errorf("--tracking-plan-mode %q: want reject or flag", f.mode)
	}
	body, err := os.ReadFile(f.plan)
	if err != nil {
		return nil, fmt.Errorf("--tracking-plan: %w", err)
	}
	return body, nil
}
