package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/store"
)

func newApplyCmd() *cobra.Command {
	var (
		cf   clientFlags
		file string
		ao   pipeline.ApplyOptions
	)
	cmd := &cobra.Command{
		Use:   "apply -f weft.yaml",
		Short: "Validate a weft.yaml against the running platform and put it in force",
		Long: `apply sends the document (YAML or JSON; - for stdin) to PUT /v1/config. The server checks
all of it, running every SQL expression against its engine, and either puts the whole
document in force or rejects it with an error naming the rule at fault, changing nothing.
Changed stitching rules rebuild the entities from the whole log on the next pass; with
--forward-only they apply to the events stitched from now on, and earlier events are not
linked again under them (as Meiro CPS does).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := readFileOrStdin(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			res, err := cf.client().ApplyConfigWith(cmd.Context(), body, ao)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Applied %s as config version %d.\n", file, res.Version)
			if res.StitchingForward {
				fmt.Fprintln(out, "The stitching rules changed: they apply to the events stitched from now on; earlier events are not linked again (weft stitch --from-scratch rebuilds).")
			}
			if res.StitchingRebuild {
				fmt.Fprintln(out, "The stitching rules changed: entities are rebuilt from the whole log on the next pass (or now: weft stitch).")
			}
			if res.AttributesCalculating {
				fmt.Fprintln(out, "Attributes were added or changed: they are being calculated now (weft jobs list --job attributes shows the run).")
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVarP(&file, "file", "f", "weft.yaml", "the document to apply; - reads stdin")
	cmd.Flags().BoolVar(&ao.StitchingForward, "forward-only", false, "changed stitching rules apply to the events stitched from now on, without a rebuild (earlier events are not re-linked)")
	return cmd
}

func readFileOrStdin(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

func newStitchCmd() *cobra.Command {
	var (
		cf          clientFlags
		fromScratch bool
	)
	cmd := &cobra.Command{
		Use:   "stitch",
		Short: "Run identity stitching on the running platform now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := cf.client().Stitch(cmd.Context(), fromScratch)
			if err != nil {
				return err
			}
			how := "incrementally"
			if res.FromScratch {
				how = "from scratch"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Stitched %d events %s in %.0f ms: %d entities created, %d merges.\n",
				res.EventsProcessed, how, res.DurationMS, res.EntitiesCreated, res.Merges)
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().BoolVar(&fromScratch, "from-scratch", false, "forget all entities and stitch the whole log again")
	return cmd
}

func newProfilesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "profiles", Short: "Read customer profiles (stitched entities)"}
	var (
		cf     clientFlags
		events int
		asJSON bool
	)
	get := &cobra.Command{
		Use:   "get ID | CATEGORY:VALUE",
		Short: "Print a profile, found by entity id or by an identifier such as email:jane@example.com",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c := cf.client()
			var e *store.Entity
			var err error
			if cat, val, ok := strings.Cut(args[0], ":"); ok {
				e, err = c.EntityByIdentifier(ctx, cat, val)
			} else {
				e, err = c.Entity(ctx, args[0])
			}
			var split *client.SplitError
			if errors.As(err, &split) {
				return printSplit(cmd.OutOrStdout(), split, func(id string) ([]store.Merge, error) { return c.EntityMerges(ctx, id) }, asJSON)
			}
			if err != nil {
				return err
			}
			merges, err := c.EntityMerges(ctx, e.ID)
			if err != nil {
				return err
			}
			var page *client.EntityEventsPage
			if events > 0 {
				if page, err = c.EntityEvents(ctx, e.ID, 0, events); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), map[string]any{"entity": e, "merges": merges, "events": page})
			}
			printProfile(cmd.OutOrStdout(), e, merges, page)
			return nil
		},
	}
	cf.register(get.Flags())
	get.Flags().IntVar(&events, "events", 10, "how many of the profile's first events to show")
	get.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	cmd.AddCommand(get)
	cmd.AddCommand(newProfilesSplitCmd(), newProfilesMergeCmd())
	cmd.AddCommand(newProfilesGraphCmd())
	return cmd
}

func printProfile(w io.Writer, e *store.Entity, merges []store.Merge, page *client.EntityEventsPage) {
	fmt.Fprintf(w, "Entity %s\n", e.ID)
	if e.MergedFrom != "" {
		fmt.Fprintf(w, "  (you asked for %s, which was merged into it)\n", e.MergedFrom)
	}
	fmt.Fprintf(w, "  events:      %d", e.EventsCount)
	if e.FirstEventTime != nil {
		fmt.Fprintf(w, ", from %s to %s", e.FirstEventTime.Format(time.RFC3339), e.LastEventTime.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "\n  created:     %s\n  modified:    %s\n", e.CreatedAt.Format(time.RFC3339), e.ModifiedAt.Format(time.RFC3339))
	cats := make([]string, 0, len(e.Identifiers))
	for c := range e.Identifiers {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	fmt.Fprintln(w, "  identifiers:")
	if len(cats) == 0 {
		fmt.Fprintln(w, "    (none)")
	}
	for _, c := range cats {
		fmt.Fprintf(w, "    %s: %s\n", c, strings.Join(e.Identifiers[c], ", "))
	}
	printAttributes(w, e.Attributes)
	fmt.Fprintf(w, "  segments:    %s\n", orNone(strings.Join(e.Segments, ", ")))
	fmt.Fprintf(w, "  merges:      %d\n", len(merges))
	for _, m := range merges {
		fmt.Fprintf(w, "    %s  %s absorbed %s through %s=%s (event seq %d)\n",
			m.MergedAt.Format(time.RFC3339), m.Survivor, m.Loser, m.Category, m.Value, m.EventSeq)
	}
	if page == nil {
		return
	}
	fmt.Fprintf(w, "  first %d events:\n", len(page.Events))
	for _, ev := range page.Events {
		fmt.Fprintf(w, "    %8d  %s  %s/%s/%s  %s\n", ev.Seq, ev.EventTime.Format(time.RFC3339), ev.SourceID, ev.Type, ev.Version, ev.ID)
	}
}

// printSplit prints the answer for an id that split: the profiles of its
// parts with their merges.
func printSplit(w io.Writer, s *client.SplitError, mergesOf func(id string) ([]store.Merge, error), asJSON bool) error {
	if asJSON {
		return writeJSONTo(w, map[string]any{"id": s.ID, "split_into": s.SplitInto, "parts": s.Parts})
	}
	fmt.Fprintf(w, "Entity %s split into %s; the profiles of its parts now:\n", s.ID, strings.Join(s.SplitInto, ", "))
	for i := range s.Parts {
		merges, err := mergesOf(s.Parts[i].ID)
		if err != nil {
			return err
		}
		fmt.Fprintln(w)
		printProfile(w, &s.Parts[i], merges, nil)
	}
	return nil
}
