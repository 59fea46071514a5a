package cli

import "github.com/spf13/cobra"

// newSegmentsCmd is the segments command group with preview only, so
// that preview can be used and tested on this branch; the group with
// list, show and members (internal/cli/segments.go) replaces this file
// when the branches are joined, adding newSegmentsPreviewCmd to it.
func newSegmentsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "segments", Short: "Inspect segments and preview condition trees"}
	cmd.AddCommand(newSegmentsPreviewCmd())
	return cmd
}
