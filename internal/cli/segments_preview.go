package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/segment"
)

func newSegmentsPreviewCmd() *cobra.Command {
	var (
		cf     clientFlags
		file   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "preview",
		Short: "Count the members a condition tree (YAML or JSON, from -f or stdin) has now, with a sample of profiles",
		Long: "Preview reads a condition tree, as under segments[].condition in weft.yaml (for example\n" +
			"{all: [{attribute: orders, op: \">=\", value: 2}, {identifier: email}]}), from the file of -f or\n" +
			"from stdin, and prints how many live entities it holds for now and a sample of 20. Nothing is saved\n" +
			"but the per-event values of its conditions with where or sum, kept for the next count (docs/segments.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := cmd.InOrStdin()
			if file != "" && file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			cond, err := readCondition(in)
			if err != nil {
				return err
			}
			res, err := cf.client().PreviewSegment(cmd.Context(), cond)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			fmt.Fprintf(w, "%d members\n", res.Count)
			tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ENTITY\tIDENTIFIERS")
			for _, s := range res.Sample {
				fmt.Fprintf(tw, "%s\t%s\n", s.EntityID, identifierList(s.Identifiers))
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVarP(&file, "file", "f", "", "file holding the condition tree, YAML or JSON (default stdin)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON, with the sample's attributes")
	return cmd
}

// readCondition reads a YAML or JSON condition tree as JSON; a document
// with a top-level condition key is taken as the tree under it.
func readCondition(in io.Reader) (json.RawMessage, error) {
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(data)) == "" {
		return nil, fmt.Errorf("no condition tree: give a file with -f or send it on stdin")
	}
	return segment.TreeJSON(data)
}

// identifierList is category:value, ... in category order.
func identifierList(ids map[string][]string) string {
	cats := make([]string, 0, len(ids))
	for c := range ids {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	var parts []string
	for _, c := range cats {
		for _, v := range ids[c] {
			parts = append(parts, c+":"+v)
		}
	}
	return strings.Join(parts, ", ")
}
