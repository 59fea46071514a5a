package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/attr"
)

func newAttributesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "attributes", Short: "Calculate and inspect customer attributes"}
	cmd.AddCommand(newAttributesCalculateCmd(), newAttributesListCmd(), newAttributesValuesCmd(),
		newAttributesRefreshContextCmd(), newAttributesRefreshCachesCmd())
	return cmd
}

func newAttributesCalculateCmd() *cobra.Command {
	var (
		cf clientFlags
		ro attr.RunOptions
	)
	cmd := &cobra.Command{
		Use:   "calculate",
		Short: "Calculate the attributes of the due entities now (all with --recalculate-all or --from-scratch)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := cf.client().CalculateAttributes(cmd.Context(), ro)
			if err != nil {
				return err
			}
			printRun(cmd.OutOrStdout(), res)
			for _, a := range res.Attributes {
				if a.Status != "ok" {
					return &exitError{code: 1, err: fmt.Errorf("attribute %s failed: %s", a.ID, a.Error)}
				}
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().BoolVar(&ro.FromScratch, "from-scratch", false, "delete the values first and calculate every entity")
	cmd.Flags().BoolVar(&ro.RecalculateAll, "recalculate-all", false, "calculate every entity, keeping the old values until replaced")
	cmd.Flags().StringSliceVar(&ro.Only, "only", nil, "calculate only these attributes (comma-separated ids)")
	return cmd
}

func printRun(w io.Writer, res *attr.RunResult) {
	fmt.Fprintf(w, "Calculated in %.0f ms; %d entities were due.\n", res.DurationMS, res.DueEntities)
	for _, c := range res.Contexts {
		switch {
		case c.Error != "":
			fmt.Fprintf(w, "  context %s: FAILED: %s\n", c.Key, c.Error)
		case c.Refreshed:
			fmt.Fprintf(w, "  context %s = %s (refreshed)\n", c.Key, c.Value)
		}
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ATTRIBUTE\tSTATUS\tENTITIES\tVALUES\tMS")
	for _, a := range res.Attributes {
		status := a.Status
		if a.Full {
			status += " (all entities)"
		}
		if a.Error != "" {
			status += ": " + a.Error
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%.0f\n", a.ID, status, a.Entities, a.Rows, a.DurationMS)
	}
	tw.Flush()
}

func newAttributesListCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the attribute definitions with their customers and last run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			infos, err := cf.client().Attributes(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTYPE\tDATA TYPE\tCUSTOMERS\tLAST RUN\tSTATUS")
			for _, a := range infos {
				status := a.Status
				if !a.Enabled {
					status = "disabled"
				}
				if a.Error != "" {
					status += ": " + a.Error
				}
				if a.CastFailures > 0 {
					status += fmt.Sprintf(" (values that did not convert, counted as NULL: %d, e.g. event %s)", a.CastFailures, a.CastFailureEventID)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", a.ID, a.Type, a.DataType, a.Customers, lastRun(a), status)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

// lastRun describes an attribute's last calculation: when it finished,
// for how many entities, how long it took; "never" before the first.
func lastRun(a attr.Info) string {
	if a.FinishedAt == nil {
		return "never"
	}
	return fmt.Sprintf("%s (%d entities, %s)", a.FinishedAt.UTC().Format("2006-01-02 15:04:05Z"), a.Entities,
		(time.Duration(a.DurationMS * float64(time.Millisecond))).Round(time.Millisecond))
}

func newAttributesValuesCmd() *cobra.Command {
	var (
		cf    clientFlags
		limit int
	)
	cmd := &cobra.Command{
		Use:   "values ID",
		Short: "Show an attribute's most frequent values and how many customers have each",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cf.client().AttributeValueCounts(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %d customers have a value.\n", v.ID, v.Customers)
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  VALUE\tCUSTOMERS")
			for _, c := range v.Values {
				fmt.Fprintf(tw, "  %s\t%d\n", jsonText(c.Value), c.Count)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVar(&limit, "limit", 20, "how many values to show (at most 1000)")
	return cmd
}

// jsonText prints a JSON value compactly: strings bare, the rest as JSON.
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// printAttributes prints a profile's attributes, sorted by id.
func printAttributes(w io.Writer, attrs map[string]any) {
	ids := make([]string, 0, len(attrs))
	for id := range attrs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(w, "  attributes:  %d\n", len(ids))
	for _, id := range ids {
		fmt.Fprintf(w, "    %s: %s\n", id, jsonText(attrs[id]))
	}
}
