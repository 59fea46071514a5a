package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/console"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/server"
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
			// The demo's import folder and plugin command are the
			// operator's to allow: this command is the operator here.
			dir, err := storesDir(f.cfg)
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			f.cfg.ImportFolders = append(f.cfg.ImportFolders, dir)
			f.cfg.PluginCommands = append(f.cfg.PluginCommands, plugin.EscapePattern(plugin.CommandLine(demoPluginCommand(exe))))
			s, cfg, err := f.start(cmd)
			if err != nil {
				return err
			}
			storeDesc := "embedded DuckDB in " + cfg.DataDir
			if cfg.DB != "" {
				storeDesc = "PostgreSQL"
			}
			fmt.Fprintf(out, "Weft is running at %s (%s).\n", s.URL(), storeDesc)
			fmt.Fprintf(out, "console: %s%s\n", s.URL(), console.Prefix)
			fmt.Fprintf(out, "Sending the demo dataset: %d customers, seed %d, through POST /v1/events ...\n", opts.Customers, opts.Seed)
			key := ""
			if len(cfg.APIKeys) > 0 {
				key = cfg.APIKeys[0]
			}
			c := client.New(s.URL(), key)
			plugins, err := demoPluginConfig()
			if err != nil {
				s.Shutdown()
				return err
			}
			applied, err := c.ApplyConfig(ctx, append(demoConfig(dir), plugins...))
			if err != nil {
				s.Shutdown()
				return fmt.Errorf("apply the demo weft.yaml: %w", err)
			}
			fmt.Fprintf(out, "Applied the demo weft.yaml (stitching by cookie_id, email and crm_id) as config version %d.\n", applied.Version)
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
			example, err := stitchDemo(cmd, c, s, opts)
			if err == nil {
				err = attributesDemo(cmd, c, example, opts)
			}
			if err == nil {
				err = jobsDemo(ctx, out, c, dir, opts.Seed)
			}
			if err == nil {
				err = pluginDemo(ctx, out, c, example)
			}
			if err == nil {
				err = deliveryDemo(ctx, out, c, example)
			}
			if err != nil {
				s.Shutdown()
				return err
			}
			keyHeader, keyFlag := "", ""
			if key != "" {
				keyHeader = " -H 'x-api-key: " + key + "'"
				keyFlag = " --api-key " + shellQuote(key)
			}
			fmt.Fprintf(out, `
Where to look:
  %[1]s/console/ (the web console, in a browser)
  curl%[2]s %[1]s/v1/stats
  curl%[2]s '%[1]s/v1/events?limit=5'
  curl%[2]s '%[1]s/v1/events?source_id=shop&type=purchase&limit=3'
  curl%[2]s %[1]s/v1/event-types
  curl%[2]s '%[1]s/v1/config?format=yaml'
  curl%[2]s '%[1]s/v1/entities?limit=3'
  %[4]s profiles get --server %[1]s%[5]s %[3]s
  %[4]s attributes list --server %[1]s%[5]s
  %[4]s attributes values --server %[1]s%[5]s favorite_category
  %[4]s jobs list --server %[1]s%[5]s
  %[4]s notifications --server %[1]s%[5]s
  %[4]s plugins list --server %[1]s%[5]s
  %[4]s plugins runs --server %[1]s%[5]s
  curl%[2]s %[1]s/v1/properties
  curl%[2]s -X POST %[1]s/deliver -H 'x-weft-introspection: 1' -d '{"userInfo":{"anonUserId":"a1"},"insertion":[{"contentId":"SKU-0001"},{"contentId":"SKU-0003"}]}'
  curl%[2]s '%[1]s/v1/objects/stores?first=3'
  curl%[2]s -X POST %[1]s/v1/graphql -d '{"query":"{ stores(first: 2) { edges { node { store_id name city } } } }"}'
  curl %[1]s/metrics
  %[4]s events tail --server %[1]s%[5]s
Send your own events:
  curl%[2]s -X POST %[1]s/v1/events -H 'Content-Type: application/x-ndjson' --data-binary @events.ndjson
  %[4]s ingest --server %[1]s%[5]s events.ndjson

Serving until Ctrl-C.
`, s.URL(), keyHeader, example, selfCommand(), keyFlag)
			return s.Wait(ctx)
		},
	}
	f.register(cmd.Flags())
	tempDataDirHelp(cmd)
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

// stitchDemo stitches the demo data, scores the partition against the
// generator's truth and returns an identifier worth looking up.
func stitchDemo(cmd *cobra.Command, c *client.Client, s *server.Server, opts demo.Options) (string, error) {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	res, err := c.Stitch(ctx, false)
	if err != nil {
		return "", fmt.Errorf("stitch the demo data: %w", err)
	}
	st, err := c.Stats(ctx)
	if err != nil {
		return "", err
	}
	entityOf := map[string]string{}
	err = s.Store.EntityAssignments(ctx, func(ev, ent string) error {
		entityOf[ev] = ent
		return nil
	})
	if err != nil {
		return "", err
	}
	precision, recall := demo.PairScores(entityOf, demo.Truth(demo.Events(opts)))
	refused, ambiguous := st.Audit["max_per_entity"], st.Audit["ambiguous"]
	fmt.Fprintf(out, `Stitched the log (this pass: %d events in %.0f ms) into %d customer entities (%d merges).
Against the generator's truth (%d customers, a fifth of them anonymous browsers who never
link their devices), pairwise precision %.4f, recall %.4f. Guard rails refused %d links
through %d shared values (households sharing an email), and %d links through %d ambiguous
identifiers (shop tablets' cookies, on which many customers sign in).
`, res.EventsProcessed, res.DurationMS, st.Entities, st.Merges, opts.Customers, precision, recall, refused.Events, refused.Values,
		ambiguous.Events, ambiguous.Values)
	for i := range opts.Customers {
		if cust := demo.CustomerAt(opts, i); cust.CRMID != "" && !cust.Household {
			return "email:" + cust.Email, nil
		}
	}
	return "cookie_id:" + demo.CustomerAt(opts, 0).Cookies[0], nil
}

// attributesDemo calculates the demo attributes and prints a few profiles.
func attributesDemo(cmd *cobra.Command, c *client.Client, example string, opts demo.Options) error {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	res, err := c.CalculateAttributes(ctx, attr.RunOptions{})
	if err != nil {
		return fmt.Errorf("calculate the demo attributes: %w", err)
	}
	infos, err := c.Attributes(ctx)
	if err != nil {
		return err
	}
	failed := 0
	for _, a := range infos {
		if a.Status == "error" {
			failed++
		}
	}
	if res.DueEntities == 0 {
		// The attributes job ran after stitching already: nothing was due.
		fmt.Fprintf(out, "Calculated %d attributes (every type of calculation) in the attributes job that stitching triggered; %d failed.\n", len(infos), failed)
	} else {
		fmt.Fprintf(out, "Calculated %d attributes (every type of calculation) in %.0f ms; %d failed.\n", len(infos), res.DurationMS, failed)
	}
	// The example, and a household: two people sharing one email, kept
	// apart by their CRM ids.
	ids := []string{example}
	for i := 0; i+1 < opts.Customers; i += 2 {
		if a, b := demo.CustomerAt(opts, i), demo.CustomerAt(opts, i+1); a.Household {
			ids = append(ids, "crm_id:"+a.CRMID, "crm_id:"+b.CRMID)
			break
		}
	}
	fmt.Fprintln(out, "A few profiles (the last two share a household email):")
	for _, id := range ids {
		cat, val, _ := strings.Cut(id, ":")
		e, err := c.EntityByIdentifier(ctx, cat, val)
		if err != nil {
			return err
		}
		merges, err := c.EntityMerges(ctx, e.ID)
		if err != nil {
			return err
		}
		printProfile(out, e, merges, nil)
	}
	return nil
}
