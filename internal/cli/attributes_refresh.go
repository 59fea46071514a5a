package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newAttributesRefreshContextCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "refresh-context",
		Short: "Run every context query now, whatever the age of its value",
		Long: `refresh-context runs every context query of the config in force now, instead of when its
value is 24 hours old (Meiro's "UPDATE context SET modified = NULL"); the attributes read
the new values at their next calculation. It exits 1 when a query failed (its old value stays).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := cf.client().RefreshContexts(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Refreshed %d context queries in %.0f ms; %d failed.\n", res.Refreshed, res.DurationMS, res.Failed)
			for _, c := range res.Contexts {
				if c.Error != "" {
					fmt.Fprintf(out, "  %s: FAILED: %s\n", c.Key, c.Error)
					continue
				}
				fmt.Fprintf(out, "  %s = %s\n", c.Key, c.Value)
			}
			if res.Failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d context queries failed", res.Failed)}
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func newAttributesRefreshCachesCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "refresh-caches",
		Short: "Count the attribute caches (customers, value counts) again from the values",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := cf.client().RefreshCaches(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Recounted the caches of %d attributes in %.0f ms.\n", len(res.Attributes), res.DurationMS)
			for _, a := range res.Attributes {
				fmt.Fprintf(out, "  %s: %d customers, %d values\n", a.ID, a.Customers, a.Values)
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}
