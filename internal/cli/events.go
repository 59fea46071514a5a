package cli

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/store"
)

func newEventsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Read the event log of a running platform",
	}
	cmd.AddCommand(newEventsTailCmd())
	return cmd
}

func newEventsTailCmd() *cobra.Command {
	var (
		cf       clientFlags
		n        int
		follow   bool
		interval time.Duration
		p        client.EventsParams
	)
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print the newest events, oldest first; -f keeps printing new ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c := cf.client()
			p.Limit, p.Desc = n, true
			page, err := c.Events(ctx, p)
			if err != nil {
				return err
			}
			slices.Reverse(page.Events)
			printEvents(cmd.OutOrStdout(), page.Events)
			if !follow {
				return nil
			}
			p.Desc, p.Limit = false, 1000
			if len(page.Events) > 0 {
				p.AfterSeq = page.Events[len(page.Events)-1].Seq
			} else if st, err := c.Stats(ctx); err == nil {
				p.AfterSeq = st.MaxSeq
			}
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
				page, err := c.Events(ctx, p)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				printEvents(cmd.OutOrStdout(), page.Events)
				p.AfterSeq = page.NextAfterSeq
			}
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVarP(&n, "lines", "n", 20, "how many of the newest events to print")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing events as they arrive")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "poll interval with --follow")
	cmd.Flags().StringVar(&p.SourceID, "source-id", "", "only events of this source")
	cmd.Flags().StringVar(&p.Type, "type", "", "only events of this type")
	return cmd
}

func printEvents(w io.Writer, events []store.Event) {
	for _, e := range events {
		fmt.Fprintf(w, "%d  %s  %s/%s/%s  %s  %s\n", e.Seq, e.EventTime.Format("2006-01-02T15:04:05.000000Z"),
			e.SourceID, e.Type, e.Version, e.ID, e.Payload)
	}
}
