package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/store"
)

// repairNote says what every repair by hand is: a constraint kept until
// removed.
const repairNote = `It is stored as a constraint that every later stitching pass and rebuild honours, until
removed with weft identity constraints remove ID, and the entities concerned are
re-clustered now. The change is audited with the name of the API key (weft audit).`

// repairCmd is a command that repairs identity through the API: call
// asks the server, then the answer is printed as text (what, with the
// answer) or JSON.
func repairCmd(cmd *cobra.Command, call func(cmd *cobra.Command, c *client.Client, args []string) (*api.Repair, error),
	what func(io.Writer, *api.Repair)) *cobra.Command {
	var (
		cf     clientFlags
		asJSON bool
	)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		rep, err := call(cmd, cf.client(), args)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSONTo(cmd.OutOrStdout(), rep)
		}
		out := cmd.OutOrStdout()
		what(out, rep)
		r := rep.Result
		if r != nil {
			fmt.Fprintf(out, "Re-clustered: %d events, %d entities created, %d merges.\n", r.EventsProcessed, r.EntitiesCreated, r.Merges)
		}
		return nil
	}
	cf.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the server's answer as JSON")
	return cmd
}

func newProfilesSplitCmd() *cobra.Command {
	var identifiers []string
	cmd := repairCmd(&cobra.Command{
		Use:   "split ID --identifier CATEGORY:VALUE...",
		Short: "Split identifiers off a profile and keep them apart from its others",
		Long: `split moves the events linked through the identifiers (--identifier, repeatable) out of the
entity into an entity of their own, kept apart from the entity's other identifiers.
` + repairNote,
		Args: cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, c *client.Client, args []string) (*api.Repair, error) {
		return c.SplitEntity(cmd.Context(), args[0], identifiers)
	}, func(w io.Writer, rep *api.Repair) {
		fmt.Fprintf(w, "Split entity %s: constraint %s keeps %s apart from its other identifiers.\n",
			specEntity(rep), rep.Constraint.ID, strings.Join(identifierArgs(rep), ", "))
		if rep.Split != nil {
			fmt.Fprintf(w, "Now the identifiers split off are in %s, the others in %s.\n",
				orNone(strings.Join(rep.Split.Identifiers, ", ")), orNone(strings.Join(rep.Split.ApartFrom, ", ")))
		}
	})
	cmd.Flags().StringArrayVar(&identifiers, "identifier", nil, "an identifier of the entity to split off, CATEGORY:VALUE; repeat")
	return cmd
}

// specEntity and identifierArgs read a split's spec for the text output.
func specEntity(rep *api.Repair) string { return splitSpec(rep).Entity }

func identifierArgs(rep *api.Repair) []string {
	var out []string
	for _, id := range splitSpec(rep).Identifiers {
		out = append(out, id.String())
	}
	return out
}

func splitSpec(rep *api.Repair) store.SplitSpec {
	var s store.SplitSpec
	_ = json.Unmarshal(rep.Constraint.Spec, &s) // the server's own JSON
	return s
}

func newProfilesMergeCmd() *cobra.Command {
	return repairCmd(&cobra.Command{
		Use:   "merge ID ID...",
		Short: "Merge profiles into one, whatever the guard rails say",
		Long: `merge makes the entities one: the survivor is the entity with the earliest first event.
` + repairNote,
		Args: cobra.MinimumNArgs(2),
	}, func(cmd *cobra.Command, c *client.Client, args []string) (*api.Repair, error) {
		return c.MergeEntities(cmd.Context(), args)
	}, func(w io.Writer, rep *api.Repair) {
		fmt.Fprintf(w, "Merged into %s: constraint %s.\n", rep.EntityID, rep.Constraint.ID)
		if len(rep.Entities) > 1 {
			fmt.Fprintf(w, "Not one entity yet: %s.\n", strings.Join(rep.Entities, ", "))
		}
	})
}

func newIdentifiersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "identifiers", Short: "Act on stitching identifiers"}
	block := repairCmd(&cobra.Command{
		Use:   "block CATEGORY:VALUE",
		Short: "Block one identifier value from now on: it never links entities",
		Long: `block keeps a value (a shared or junk email, a test device) from linking anything, and
re-clusters the entities it joined without it. The category must be one the stitching
rules read. ` + repairNote,
		Args: cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, c *client.Client, args []string) (*api.Repair, error) {
		cat, val, ok := strings.Cut(args[0], ":")
		if !ok {
			return nil, fmt.Errorf("%q must be CATEGORY:VALUE, e.g. email:shared@example.com", args[0])
		}
		return c.BlockIdentifier(cmd.Context(), store.Identifier{Category: cat, Value: val})
	}, func(w io.Writer, rep *api.Repair) {
		fmt.Fprintf(w, "Blocked by constraint %s; %d entities held it: %s.\n", rep.Constraint.ID, len(rep.Entities), orNone(strings.Join(rep.Entities, ", ")))
		for _, s := range rep.Splits {
			fmt.Fprintf(w, "  %s split into %s\n", s.EntityID, strings.Join(s.Parts, ", "))
		}
	})
	cmd.AddCommand(block)
	return cmd
}

func newIdentityCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Identity repaired by hand: the constraints stitching honours"}
	constraints := &cobra.Command{Use: "constraints", Short: "List and remove the constraints of profiles split, merged and identifiers blocked"}
	var (
		cf     clientFlags
		asJSON bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the constraints, newest first, with who added them and when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := cf.client().Constraints(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tCREATED\tBY\tSPEC")
			for _, c := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Kind, c.CreatedAt.Format(time.RFC3339), c.CreatedBy, c.Spec)
			}
			return tw.Flush()
		},
	}
	cf.register(list.Flags())
	list.Flags().BoolVar(&asJSON, "json", false, "print the constraints as JSON")
	remove := repairCmd(&cobra.Command{
		Use:   "remove ID",
		Short: "Remove a constraint and re-cluster the entities it touches without it",
		Args:  cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, c *client.Client, args []string) (*api.Repair, error) {
		return c.RemoveConstraint(cmd.Context(), args[0])
	}, func(w io.Writer, rep *api.Repair) {
		fmt.Fprintf(w, "Removed %s constraint %s (added by %s); re-clustered %s.\n", rep.Constraint.Kind, rep.Constraint.ID,
			rep.Constraint.CreatedBy, orNone(strings.Join(rep.Entities, ", ")))
	})
	constraints.AddCommand(list, remove)
	cmd.AddCommand(constraints)
	return cmd
}
