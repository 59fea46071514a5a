package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/demo"
)

func newQuickstartCmd() *cobra.Command {
	var (
		f    serverFlags
		opts demo.Options
	)
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Start the platform on a fresh embedded store, load a demo dataset, and keep serving",
		Long: `quickstart starts Weft on the embedded store in a fresh data directory (unless --data or --db
says otherwise), generates a realistic demo dataset (web page views with cookie ids, form
submits with emails, CRM updates, shop purchases with product arrays), sends it through the
ingestion API, prints what happened and where to look, and keeps serving until Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if _, err := f.useTempDataDir(cmd, "weft-quickstart-"); err != nil {
				return err
			}
			s, cfg, err := f.start(cmd)
			if err != nil {
				return err
			}
			storeDesc := "embedded DuckDB in " + cfg.DataDir
			if cfg.DB != "" {
				storeDesc = "PostgreSQL"
			}
			fmt.Fprintf(out, "Weft is running at %s (%s).\n", s.URL(), storeDesc)
			fmt.Fprintf(out, "Sending the demo dataset: %d customers, seed %d, through POST /v1/events ...\n", opts.Customers, opts.Seed)
			key := ""
			if len(cfg.APIKeys) > 0 {
				key = cfg.APIKeys[0]
			}
			c := client.New(s.URL(), key)
			sum, err := c.IngestStream(ctx, bench.DemoRecords(demo.Events(opts)), client.IngestOpts{})
			if err != nil {
				s.Shutdown()
				return fmt.Errorf("load demo data: %w", err)
			}
			printSummary(out, sum)
			if err := printCatalog(cmd, c); err != nil {
				s.Shutdown()
				return err
			}
			keyHeader := ""
			if key != "" {
				keyHeader = " -H 'x-api-key: " + key + "'"
			}
			fmt.Fprintf(out, `
Where to look:
  curl%[2]s %[1]s/v1/stats
  curl%[2]s '%[1]s/v1/events?limit=5'
  curl%[2]s '%[1]s/v1/events?source_id=shop&type=purchase&limit=3'
  curl%[2]s %[1]s/v1/event-types
  curl %[1]s/metrics
  weft events tail --server %[1]s
Send your own events:
  curl%[2]s -X POST %[1]s/v1/events -H 'Content-Type: application/x-ndjson' --data-binary @events.ndjson
  weft ingest --server %[1]s events.ndjson

Serving until Ctrl-C.
`, s.URL(), keyHeader)
			return s.Wait(ctx)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&opts.Customers, "customers", demo.CustomersDefault, "how many demo customers to generate")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the demo data; the same seed gives the same events")
	return cmd
}

func printCatalog(cmd *cobra.Command, c *client.Client) error {
	st, err := c.Stats(cmd.Context())
	if err != nil {
		return err
	}
	types, err := c.EventTypes(cmd.Context())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "The log now holds %d events of %d event types from %d sources:\n", st.Events, st.EventTypes, st.Sources)
	for _, t := range types {
		fmt.Fprintf(out, "  %s\n", t.ID)
	}
	return nil
}
