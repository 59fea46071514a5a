package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/kv"
)

// recordsKind describes one of the operators' stores for the commands.
type recordsKind struct {
	name     string // "settings" or "secrets"
	readable bool   // values can be read back
	store    func(*client.Client) *client.Records
}

func newSettingsCmd() *cobra.Command {
	k := recordsKind{name: "settings", readable: true, store: (*client.Client).Settings}
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Read and write the settings jobs read (job.Env.Settings)",
	}
	cmd.AddCommand(k.listCmd(), k.getCmd(), k.setCmd(), k.deleteCmd())
	return cmd
}

func newSecretsCmd() *cobra.Command {
	k := recordsKind{name: "secrets", store: (*client.Client).Secrets}
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Write the secrets jobs read (job.Env.Secrets), encrypted at rest; values are never shown",
		Long: `Secrets are stored encrypted with the server's secret key (weft serve --secret-key-file, or
WEFT_SECRET_KEY): 32 random bytes, base64 or hex, which weft secrets keygen prints.
Keep the key safe: secrets written under one key cannot be read under another.`,
	}
	keygen := &cobra.Command{
		Use:   "keygen",
		Short: "Print a new random secret key (base64) for WEFT_SECRET_KEY or --secret-key-file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), kv.GenerateSecretKey())
			return err
		},
	}
	cmd.AddCommand(k.listCmd(), k.setCmd(), k.deleteCmd(), keygen)
	return cmd
}

func (k recordsKind) listCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the keys of the " + k.name + " with their field names",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := k.store(cf.client()).List(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tFIELDS\tUPDATED")
			for _, ki := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", ki.Key, strings.Join(ki.Fields, ","), ki.UpdatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func (k recordsKind) getCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "get KEY [FIELD...]",
		Short: "Print a record of the " + k.name + " as JSON ({} when missing), or only some fields",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rec, err := k.store(cf.client()).Get(cmd.Context(), args[0], args[1:]...)
			if err != nil {
				return err
			}
			var out bytes.Buffer
			if err := json.Indent(&out, rec, "", "  "); err != nil {
				return err
			}
			out.WriteByte('\n')
			_, err = out.WriteTo(cmd.OutOrStdout())
			return err
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func (k recordsKind) setCmd() *cobra.Command {
	var (
		cf       clientFlags
		jsonBody string
		replace  bool
	)
	cmd := &cobra.Command{
		Use:   "set KEY [FIELD=TEXT | FIELD:=JSON]...",
		Short: "Set fields of a record of the " + k.name + ", keeping the others (all of it with --replace)",
		Long: `set writes fields of the record under KEY. FIELD=TEXT sets a string; FIELD:=JSON sets any
JSON value (count:=10, enabled:=true, tags:='["a","b"]'), and FIELD:=null removes the field.
--json takes a whole JSON object (- reads it from stdin, which keeps values out of the shell
history); fields given as arguments are applied on top. Other fields of the record are kept
unless --replace is given.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rec, err := recordArgs(cmd.InOrStdin(), jsonBody, args[1:])
			if err != nil {
				return err
			}
			if len(rec) == 0 {
				return errors.New("nothing to set: give FIELD=TEXT, FIELD:=JSON or --json")
			}
			store := k.store(cf.client())
			write := store.Patch
			if replace {
				write = store.Put
			}
			info, err := write(cmd.Context(), args[0], rec)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Set %s %s: fields %s.\n", k.name, info.Key, fieldList(info.Fields))
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVar(&jsonBody, "json", "", "the record as a JSON object; - reads stdin")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace the whole record instead of setting fields")
	return cmd
}

func (k recordsKind) deleteCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "delete KEY [FIELD...]",
		Short: "Delete a record of the " + k.name + ", or only some fields of it",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := k.store(cf.client()).Delete(cmd.Context(), args[0], args[1:]...)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed from %s %s: fields %s.\n", k.name, info.Key, fieldList(info.Removed))
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func fieldList(fields []string) string {
	if len(fields) == 0 {
		return "none"
	}
	return strings.Join(fields, ", ")
}

// recordArgs builds a record from --json and FIELD=TEXT / FIELD:=JSON
// arguments, the arguments last.
func recordArgs(stdin io.Reader, jsonBody string, args []string) (map[string]any, error) {
	rec := map[string]any{}
	if jsonBody != "" {
		data := []byte(jsonBody)
		if jsonBody == "-" {
			var err error
			if data, err = io.ReadAll(stdin); err != nil {
				return nil, err
			}
		}
		if err := json.Unmarshal(data, &rec); err != nil || rec == nil {
			return nil, fmt.Errorf("--json must be a JSON object: %v", err)
		}
	}
	for _, a := range args {
		field, value, ok := strings.Cut(a, "=")
		if !ok || field == "" || field == ":" {
			return nil, fmt.Errorf("%q: want FIELD=TEXT or FIELD:=JSON", a)
		}
		if name, isJSON := strings.CutSuffix(field, ":"); isJSON {
			var v any
			if err := json.Unmarshal([]byte(value), &v); err != nil {
				return nil, fmt.Errorf("%q: the value after := must be JSON (quote strings, or use =): %v", a, err)
			}
			rec[name] = v
			continue
		}
		rec[field] = value
	}
	return rec, nil
}
