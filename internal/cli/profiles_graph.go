package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/identitygraph"
)

func newProfilesGraphCmd() *cobra.Command {
	var (
		cf       clientFlags
		from, to string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "graph ID [--from CATEGORY:VALUE --to CATEGORY:VALUE]",
		Short: "Print a profile's identity graph, or the chain of links that joins two of its identifiers",
		Long: `graph prints the identifiers of an entity with the events that carry them, the links with
the stitching rule that made them, and the links the guard rails refused (GET
/v1/entities/{id}/graph). With --from and --to it prints the shortest chain identifier,
event, identifier, ... that explains why the two identifiers belong to one customer.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (from == "") != (to == "") {
				return errors.New("--from and --to go together")
			}
			c, out := cf.client(), cmd.OutOrStdout()
			if from != "" {
				p, err := c.EntityChain(cmd.Context(), args[0], from, to)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSONTo(out, p)
				}
				printChain(out, p)
				return nil
			}
			g, err := c.EntityGraph(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(out, g)
			}
			return printGraph(out, g)
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVar(&from, "from", "", "an identifier of the entity, category:value")
	cmd.Flags().StringVar(&to, "to", "", "another identifier of the entity, category:value")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

func printGraph(w io.Writer, g *identitygraph.Graph) error {
	fmt.Fprintf(w, "Identity graph of entity %s: %d identifiers, %d links, %d refused; built from %d of %d events",
		g.EntityID, len(g.Identifiers), len(g.Links), len(g.Refused), g.EventsRead, g.EventsCount)
	if g.Truncated {
		fmt.Fprint(w, " (truncated)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nIDENTIFIER\tEVENTS\tFIRST\tLAST\tEVENT IDS")
	for _, n := range g.Identifiers {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", n.Key, n.Events.Count, when(n.Events.First), when(n.Events.Last), strings.Join(n.Events.IDs, ", "))
	}
	fmt.Fprintln(tw, "\nLINKED\tRULE\tEVENTS\tFIRST EVENT")
	for _, l := range g.Links {
		fmt.Fprintf(tw, "%s\t#%d %s\t%d\t%s\n", l.Key, l.Rule, l.RuleEvent, l.Events, eventText(l.FirstEvent))
	}
	fmt.Fprintln(tw, "\nREFUSED\tREASON\tEVENT\tHELD BY")
	for _, r := range g.Refused {
		ev := ""
		if r.Event != nil {
			ev = eventText(*r.Event)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Key, r.Reason, ev, orNone(r.HeldBy))
	}
	return tw.Flush()
}

func printChain(w io.Writer, p *identitygraph.Path) {
	if len(p.Steps) == 0 {
		fmt.Fprintf(w, "No chain of links joins %s and %s in entity %s", p.From, p.To, p.EntityID)
		if p.Truncated {
			fmt.Fprint(w, " among the events read (the entity is larger than the graph reads)")
		}
		fmt.Fprintln(w, ".")
		return
	}
	fmt.Fprintf(w, "%s and %s belong to entity %s through %d events:\n", p.From, p.To, p.EntityID, len(p.Steps)/2)
	for _, s := range p.Steps {
		if s.Identifier != nil {
			fmt.Fprintf(w, "  %s\n", s.Identifier)
			continue
		}
		fmt.Fprintf(w, "    event %s carries both\n", eventText(*s.Event))
	}
}

func eventText(e identitygraph.EventRef) string {
	return fmt.Sprintf("%s (%s, seq %d, %s)", e.ID, e.Type, e.Seq, e.Time.Format(time.RFC3339))
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
