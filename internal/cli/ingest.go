package cli

import (
	"fmt"
	"io"
	"iter"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/weftdata/weft/internal/client"
)

// clientFlags are the flags of commands that call a running platform.
type clientFlags struct {
	server string
	apiKey string
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.server, "server", env("WEFT_SERVER", "http://localhost:7700"), "URL of the running platform (env WEFT_SERVER)")
	def := env("WEFT_API_KEY", "")
	if keys := envList("WEFT_API_KEYS"); def == "" && len(keys) > 0 {
		def = keys[0]
	}
	fs.StringVar(&f.apiKey, "api-key", def, "API key sent as x-api-key (env WEFT_API_KEY, else the first of WEFT_API_KEYS)")
}

func (f *clientFlags) client() *client.Client { return client.New(f.server, f.apiKey) }

func newIngestCmd() *cobra.Command {
	var (
		cf   clientFlags
		opts client.IngestOpts
	)
	cmd := &cobra.Command{
		Use:   "ingest FILE...",
		Short: "Send events from NDJSON or JSON-array files (- for stdin) to a running platform",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			stderr := cmd.ErrOrStderr()
			opts.Progress = progressPrinter(stderr)
			sum, err := cf.client().IngestStream(cmd.Context(), fileRecords(cmd.InOrStdin(), args), opts)
			if opts.Progress != nil {
				fmt.Fprintln(stderr)
			}
			// Refused at the door, nothing was sent: a totals line of
			// zeros would only hide the hint.
			if sum != nil && !unauthorized(err) {
				printSummary(cmd.OutOrStdout(), sum)
			}
			if err != nil {
				return err
			}
			if sum.Rejected > 0 {
				return &exitError{code: 2, err: fmt.Errorf("%d records were rejected", sum.Rejected)}
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVar(&opts.BatchSize, "batch-size", 5000, "records per request")
	cmd.Flags().IntVar(&opts.Parallel, "parallel", 2, "requests in flight")
	return cmd
}

// fileRecords yields the records of each file in turn.
func fileRecords(stdin io.Reader, names []string) iter.Seq2[client.Record, error] {
	return func(yield func(client.Record, error) bool) {
		for _, name := range names {
			var r io.Reader = stdin
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					yield(client.Record{}, err)
					return
				}
				defer f.Close()
				r = f
			} else {
				name = "stdin"
			}
			for rec, err := range client.ReadRecords(r, name) {
				if !yield(rec, err) || err != nil {
					return
				}
			}
		}
	}
}

// progressPrinter draws a one-line progress display on a terminal, and
// nothing elsewhere (logs of scripts stay clean).
func progressPrinter(w io.Writer) func(client.Progress) {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	var last time.Time
	return func(p client.Progress) {
		if time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "\r%d records  %.0f records/s  accepted %d  duplicates %d  rejected %d ",
			p.Records, float64(p.Records)/p.Elapsed.Seconds(), p.Accepted, p.Duplicates, p.Rejected)
	}
}

func printSummary(w io.Writer, s *client.IngestSummary) {
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Records) / s.Elapsed.Seconds()
	}
	fmt.Fprintf(w, "%d records in %s (%.0f records/s): %d accepted, %d duplicates, %d rejected\n",
		s.Records, s.Elapsed.Round(time.Millisecond), rate, s.Accepted, s.Duplicates, s.Rejected)
	for _, r := range s.FirstRejections {
		fmt.Fprintf(w, "  rejected %s: %s\n", r.Origin, r.Error)
	}
	if s.Rejected > len(s.FirstRejections) {
		fmt.Fprintf(w, "  ... and %d more rejections\n", s.Rejected-len(s.FirstRejections))
	}
}
