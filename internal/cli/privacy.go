package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/privacy"
)

func newPrivacyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "privacy", Short: "Send privacy requests (OpenDSR erasure, access, portability) and follow them"}
	cmd.AddCommand(newPrivacyEraseCmd(), newPrivacyExportCmd(), newPrivacyStatusCmd(), newPrivacyCancelCmd())
	return cmd
}

// privacyFlags are the flags of the commands that send a request.
type privacyFlags struct {
	cf         clientFlags
	identities []string
	format     string
	callbacks  []string
	wait       bool
	timeout    time.Duration
}

func (f *privacyFlags) register(cmd *cobra.Command) {
	f.cf.register(cmd.Flags())
	cmd.Flags().StringArrayVar(&f.identities, "identity", nil, "identity of the person as category:value, e.g. email:ann@example.org (repeatable; the categories are the stitching identifiers)")
	cmd.Flags().StringVar(&f.format, "format", privacy.FormatRaw, "format of the identity values: raw, or sha256 (lowercase hex SHA-256 of the value)")
	cmd.Flags().StringArrayVar(&f.callbacks, "callback", nil, "status callback URL the server posts every change of status to (repeatable)")
	cmd.Flags().BoolVar(&f.wait, "wait", false, "wait until the request is completed or cancelled")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Minute, "with --wait, give up waiting after this long")
	_ = cmd.MarkFlagRequired("identity")
}

// request builds an OpenDSR request with a fresh subject_request_id.
func (f *privacyFlags) request(typ string) (*privacy.Request, error) {
	req := &privacy.Request{SubjectRequestID: newUUID(), SubjectRequestType: typ, APIVersion: privacy.APIVersion,
		SubmittedTime: time.Now().UTC().Format(time.RFC3339), StatusCallbackURLs: f.callbacks}
	for _, ident := range f.identities {
		cat, val, ok := strings.Cut(ident, ":")
		if !ok || cat == "" || val == "" {
			return nil, fmt.Errorf("--identity %q must be category:value, e.g. email:ann@example.org", ident)
		}
		req.SubjectIdentities = append(req.SubjectIdentities, privacy.Identity{Type: cat, Value: val, Format: f.format})
	}
	return req, nil
}

// newUUID is a random lowercase UUID v4, as OpenDSR wants request ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// send creates the request, prints its id and, with wait, follows it to
// its end.
func (f *privacyFlags) send(cmd *cobra.Command, typ string, wait bool) (*privacy.Status, error) {
	req, err := f.request(typ)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	c := f.cf.client()
	created, err := c.PrivacyCreate(cmd.Context(), req)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s request %s received, expected by %s\n", typ, created.SubjectRequestID, created.ExpectedCompletionTime)
	if !wait {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	st, err := waitPrivacy(ctx, c, created.SubjectRequestID)
	if err != nil {
		return nil, err
	}
	printPrivacyStatus(cmd.OutOrStdout(), st)
	return st, nil
}

// waitPrivacy polls a request until it is completed or cancelled.
func waitPrivacy(ctx context.Context, c *client.Client, id string) (*privacy.Status, error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := c.PrivacyStatus(ctx, id)
		if err != nil {
			return nil, err
		}
		if st.RequestStatus == privacy.StatusCompleted || st.RequestStatus == privacy.StatusCancelled {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("privacy request %s is still %s: %w (weft privacy status %s follows it)", id, st.RequestStatus, ctx.Err(), id)
		case <-tick.C:
		}
	}
}

func newPrivacyEraseCmd() *cobra.Command {
	var f privacyFlags
	cmd := &cobra.Command{
		Use:   "erase",
		Short: "Forget a person: delete every event, identifier, attribute and property of theirs and suppress their identifiers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := f.send(cmd, privacy.TypeErasure, f.wait)
			return err
		},
	}
	f.register(cmd)
	return cmd
}

func newPrivacyExportCmd() *cobra.Command {
	var (
		f   privacyFlags
		typ string
		out string
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export what Weft holds about a person: a JSON document and their events as NDJSON",
		Long:  "Send an access (or portability) request. With --out the command waits and downloads profile.json and events.ndjson into the folder; with --wait it prints their signed, expiring URLs.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if typ != privacy.TypeAccess && typ != privacy.TypePortability {
				return &exitError{code: 2, err: fmt.Errorf("--type %q: use access or portability", typ)}
			}
			st, err := f.send(cmd, typ, f.wait || out != "")
			if err != nil || out == "" {
				return err
			}
			if st.RequestStatus != privacy.StatusCompleted {
				return fmt.Errorf("privacy request %s was %s: nothing to download", st.SubjectRequestID, st.RequestStatus)
			}
			return downloadExport(cmd, f.cf.client(), st, out)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&typ, "type", privacy.TypeAccess, "access or portability")
	cmd.Flags().StringVar(&out, "out", "", "folder to download the export into (implies --wait)")
	return cmd
}

func downloadExport(cmd *cobra.Command, c *client.Client, st *privacy.Status, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for file, u := range map[string]string{privacy.DocumentFile: st.ResultsURL, privacy.EventsFile: st.EventsURL} {
		path := filepath.Join(dir, file)
		w, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		err = c.Download(cmd.Context(), u, w)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("download %s: %w", file, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", path)
	}
	return nil
}

func newPrivacyStatusCmd() *cobra.Command {
	var (
		cf     clientFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status ID",
		Short: "Show the status of a privacy request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := cf.client().PrivacyStatus(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONTo(cmd.OutOrStdout(), st)
			}
			printPrivacyStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func newPrivacyCancelCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a privacy request that has not started",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client().PrivacyCancel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "privacy request %s cancelled at %s\n", c.SubjectRequestID, c.ReceivedTime)
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func printPrivacyStatus(w io.Writer, st *privacy.Status) {
	fmt.Fprintf(w, "request   %s (%s)\nstatus    %s\nreceived  %s\n", st.SubjectRequestID, st.SubjectRequestType, st.RequestStatus, st.ReceivedTime)
	if st.CompletedTime != "" {
		fmt.Fprintf(w, "ended     %s\n", st.CompletedTime)
	}
	if r := st.Result; r != nil {
		fmt.Fprintf(w, "found     %d entities (%d with those merged into them)\n", r.EntitiesFound, r.Entities)
		if e := r.Erased; e != nil {
			fmt.Fprintf(w, "erased    %d entities, %d events, %d identifiers, %d attribute values, %d properties, %d delivery logs; %d identifiers suppressed\n",
				e.Entities, e.Events, e.Identifiers, e.AttributeValues, e.Properties, e.DeliveryLogs, e.Suppressed)
		}
		if r.Events != nil {
			fmt.Fprintf(w, "exported  %d events\n", *r.Events)
		}
	}
	if st.ResultsURL != "" {
		fmt.Fprintf(w, "document  %s\nevents    %s\nexpires   %s\n", st.ResultsURL, st.EventsURL, st.URLsExpire)
	}
	if st.Error != "" {
		fmt.Fprintf(w, "error     %s\n", st.Error)
	}
}
