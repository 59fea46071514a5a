package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/keys"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke API keys with scopes (" + strings.Join(keys.Scopes, ", ") + ")",
		Long: `API keys are sent in the x-api-key header. Each grants scopes: ingest (write events, optionally
of named sources only, and objects), read (events, profiles, attributes, objects, runs),
delivery (/deliver, /log, predictions), jobs (trigger and terminate runs) and admin
(everything: config, keys, secrets, settings, the audit trail, privacy requests). A key is
shown once, when created; the server keeps only its hash. The bootstrap keys of
weft serve --api-key are admin keys. Without any key the API is open (loopback only):
create an admin key first.`,
	}
	cmd.AddCommand(newKeysCreateCmd(), newKeysListCmd(), newKeysRevokeCmd())
	return cmd
}

func newKeysCreateCmd() *cobra.Command {
	var (
		cf     clientFlags
		p      keys.CreateParams
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME --scope SCOPE...",
		Short: "Create a key and print it, once: only its hash is kept",
		Long: `create prints the new key alone on stdout (so KEY=$(weft keys create ...) works) and what
it grants on stderr. --source (repeatable) limits an ingest key to events of those sources.
A write key of the Segment tracking API (/v1/track, /v1/batch, ...) has scope ingest and
exactly one --source; --allowed-origin (repeatable) lets browsers at those origins use it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Name = args[0]
			k, err := cf.client().CreateKey(cmd.Context(), p)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), k)
			}
			sources := ""
			if len(k.Sources) > 0 {
				sources = "; sources " + strings.Join(k.Sources, ", ")
			}
			if len(k.AllowedOrigins) > 0 {
				sources += "; allowed origins " + strings.Join(k.AllowedOrigins, ", ")
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Created key %s (id %s, scopes %s%s). Store it now: it is not shown again.\n", k.Name, k.ID, strings.Join(k.Scopes, ", "), sources)
			_, err = fmt.Fprintln(cmd.OutOrStdout(), k.Secret)
			return err
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringSliceVar(&p.Scopes, "scope", nil, "scope the key grants: "+strings.Join(keys.Scopes, ", ")+"; repeat or comma-separate")
	cmd.Flags().StringSliceVar(&p.Sources, "source", nil, "with scope ingest: only events of this source; repeat or comma-separate")
	cmd.Flags().StringArrayVar(&p.AllowedOrigins, "allowed-origin", nil, "browser origin (scheme://host[:port], or * for any) that may send events with the key (Segment tracking API); repeat")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON, key included")
	return cmd
}

func newKeysListCmd() *cobra.Command {
	var (
		cf     clientFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the live keys: names, scopes, prefixes, created, last used (never the keys)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := cf.client().Keys(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tSOURCES\tORIGINS\tPREFIX\tCREATED\tLAST USED")
			for _, k := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Scopes, ","), orDash(strings.Join(k.Sources, ",")),
					orDash(strings.Join(k.AllowedOrigins, ",")), k.Prefix+"...", k.CreatedAt.Format(time.RFC3339), stamp(k.LastUsedAt))
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the keys as JSON")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newKeysRevokeCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key: refused from now on (by other processes within a second)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := cf.client().RevokeKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Revoked key %s (id %s, prefix %s...).\n", k.Name, k.ID, k.Prefix)
			return err
		},
	}
	cf.register(cmd.Flags())
	return cmd
}
