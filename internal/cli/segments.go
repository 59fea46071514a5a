package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/store"
)

func newSegmentsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "segments", Short: "List segments, their size history and their members; preview condition trees"}
	cmd.AddCommand(newSegmentsListCmd(), newSegmentsShowCmd(), newSegmentsMembersCmd(), newSegmentsPreviewCmd())
	return cmd
}

func newSegmentsListCmd() *cobra.Command {
	var (
		cf     clientFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the segments of the config in force with their size and last run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			segs, err := cf.client().Segments(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), segs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSIZE\tSTATUS\tLAST RUN")
			for _, s := range segs {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.ID, s.Name, s.Size, segmentStatus(s.Status, s.LastRun), segmentRun(s.LastRun))
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the segments as JSON")
	return cmd
}

// segmentStatus is a status, with the error of an error.
func segmentStatus(status string, run *store.SegmentRun) string {
	if run != nil && run.Error != "" {
		return status + ": " + run.Error
	}
	return status
}

// segmentRun describes a run: when it finished, how, what changed; never
// before the first.
func segmentRun(r *store.SegmentRun) string {
	if r == nil {
		return "never"
	}
	return fmt.Sprintf("%s (%s, +%d -%d, %s)", r.FinishedAt.UTC().Format("2006-01-02 15:04:05Z"), runKind(r), r.Entered, r.Exited, runDuration(r))
}

// runKind says whether a run evaluated everyone.
func runKind(r *store.SegmentRun) string {
	if r.FullRun {
		return "full"
	}
	return "incremental"
}

func runDuration(r *store.SegmentRun) time.Duration {
	return (time.Duration(r.DurationMS * float64(time.Millisecond))).Round(time.Millisecond)
}

// orNone is s, or (none) when it is empty.
func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func newSegmentsShowCmd() *cobra.Command {
	var (
		cf     clientFlags
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a segment: its definition, size, status and size history (runs, newest first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := cf.client().Segment(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), s)
			}
			printSegment(cmd.OutOrStdout(), s)
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many runs of the history (at most 1000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the segment as JSON")
	return cmd
}

func printSegment(w io.Writer, s *client.Segment) {
	fmt.Fprintf(w, "Segment %s", s.ID)
	if s.Name != "" {
		fmt.Fprintf(w, ": %s", s.Name)
	}
	fmt.Fprintln(w)
	if s.Description != "" {
		fmt.Fprintf(w, "  %s\n", s.Description)
	}
	fmt.Fprintf(w, "  condition: %s\n  size:      %d\n  status:    %s\n  last run:  %s\n",
		s.Condition, s.Size, segmentStatus(s.Status, s.LastRun), segmentRun(s.LastRun))
	fmt.Fprintf(w, "  history:   %d runs\n", len(s.History))
	if len(s.History) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    RUN\tFINISHED\tKIND\tSIZE\tENTERED\tEXITED\tDURATION\tSTATUS")
	for _, r := range s.History {
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", r.RunID, r.FinishedAt.UTC().Format(time.RFC3339), runKind(&r),
			r.Size, r.Entered, r.Exited, runDuration(&r), segmentStatus(r.Status, &r))
	}
	tw.Flush()
}

// membersPageMax is the largest page the server answers.
const membersPageMax = 1000

func newSegmentsMembersCmd() *cobra.Command {
	var (
		cf     clientFlags
		p      client.SegmentMembersParams
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "members ID",
		Short: "List a segment's members by entity id, with the attributes asked for",
		Long: `members pages through GET /v1/segments/{id}/members (1000 members a request) until it
has --limit members (0: all of them). When more follow, the last line (or "next" in
--json) is the --after that continues.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if p.Limit < 0 {
				return fmt.Errorf("--limit must be 0 (all) or more, got %d", p.Limit)
			}
			page, err := segmentMembers(cmd, cf.client(), args[0], p)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), page)
			}
			printMembers(cmd.OutOrStdout(), page, p.Attributes)
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVar(&p.Limit, "limit", 100, "at most this many members; 0 lists them all")
	cmd.Flags().StringVar(&p.After, "after", "", "start after this entity id (the next of an earlier listing)")
	cmd.Flags().StringSliceVar(&p.Attributes, "attributes", nil, "attribute ids to show with each member (comma-separated)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"members": [...], "next": ...} as JSON`)
	return cmd
}

// segmentMembers reads pages until p.Limit members (0: all) or the end;
// Next says where the rest starts.
func segmentMembers(cmd *cobra.Command, c *client.Client, id string, p client.SegmentMembersParams) (*client.SegmentMembersPage, error) {
	out := &client.SegmentMembersPage{Members: []client.SegmentMember{}, Next: p.After}
	want := p.Limit
	for {
		p.After, p.Limit = out.Next, membersPageMax
		if want > 0 {
			p.Limit = min(want-len(out.Members), membersPageMax)
		}
		page, err := c.SegmentMembers(cmd.Context(), id, p)
		if err != nil {
			return nil, err
		}
		out.Members, out.Next = append(out.Members, page.Members...), page.Next
		if out.Next == "" || want > 0 && len(out.Members) >= want {
			return out, nil
		}
	}
}

func printMembers(w io.Writer, page *client.SegmentMembersPage, attrs []string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(append([]string{"ENTITY", "ENTERED"}, attrs...), "\t"))
	for _, m := range page.Members {
		row := []string{m.EntityID, m.EnteredAt.UTC().Format(time.RFC3339)}
		for _, a := range attrs {
			v, ok := m.Attributes[a]
			if !ok {
				row = append(row, "-")
				continue
			}
			row = append(row, jsonText(v))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	if page.Next != "" {
		fmt.Fprintf(w, "More follow: --after %s\n", page.Next)
	}
}
