package docgen

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// CLI renders the reference of every visible command under root: its use
// line, help, and flags with their defaults.
func CLI(root *cobra.Command) []byte {
	var b bytes.Buffer
	b.WriteString("# Command-line reference\n\n")
	b.WriteString(generatedNote)
	b.WriteString("Commands that act on a running server take `--server` and `--api-key` (see each command's flags);\n")
	b.WriteString("[the command-line guide](../command-line.md) explains what they do.\n\n")
	var cmds []*cobra.Command
	collect(root, &cmds)
	for _, c := range cmds {
		fmt.Fprintf(&b, "- [`%s`](#%s)\n", c.CommandPath(), anchor(c.CommandPath()))
	}
	for _, c := range cmds {
		writeCommand(&b, c)
	}
	return b.Bytes()
}

const generatedNote = "Generated from the code by `go run ./internal/docgen/gen`: do not edit by hand.\n\n"

// collect lists root and its visible descendants, depth first in the
// order cobra sorts them.
func collect(c *cobra.Command, out *[]*cobra.Command) {
	*out = append(*out, c)
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
			continue
		}
		collect(sub, out)
	}
}

// anchor is the GitHub heading anchor of "weft jobs list".
func anchor(path string) string { return strings.ReplaceAll(path, " ", "-") }

func writeCommand(b *bytes.Buffer, c *cobra.Command) {
	fmt.Fprintf(b, "\n## %s\n\n", c.CommandPath())
	fmt.Fprintf(b, "%s\n\n", prose(c.Short))
	if long := strings.TrimSpace(c.Long); long != "" && long != strings.TrimSpace(c.Short) {
		fmt.Fprintf(b, "%s\n\n", prose(long))
	}
	fmt.Fprintf(b, "```\n%s\n```\n", usage(c))
	if len(c.Aliases) > 0 {
		fmt.Fprintf(b, "\nAliases: %s\n", strings.Join(c.Aliases, ", "))
	}
	if ex := strings.TrimSpace(c.Example); ex != "" {
		fmt.Fprintf(b, "\nExamples:\n\n```\n%s\n```\n", ex)
	}
	if subs := visible(c.Commands()); len(subs) > 0 {
		b.WriteString("\nCommands:\n\n")
		for _, s := range subs {
			fmt.Fprintf(b, "- [`%s`](#%s): %s\n", s.Name(), anchor(s.CommandPath()), prose(s.Short))
		}
	}
	writeFlags(b, "Flags", c.NonInheritedFlags())
	writeFlags(b, "Inherited flags", c.InheritedFlags())
}

func visible(cmds []*cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, c := range cmds {
		if !c.Hidden && c.Name() != "help" && c.Name() != "completion" {
			out = append(out, c)
		}
	}
	return out
}

// usage is the use line without cobra's "[flags]" noise on commands that
// have none.
func usage(c *cobra.Command) string {
	line := c.CommandPath()
	if _, args, ok := strings.Cut(c.Use, " "); ok {
		line += " " + args
	} else if c.HasAvailableSubCommands() && !c.Runnable() {
		line += " COMMAND"
	}
	return line
}

func writeFlags(b *bytes.Buffer, title string, fs *pflag.FlagSet) {
	var rows []string
	fs.VisitAll(func(f *pflag.Flag) {
		// help and version are added by cobra when the command runs.
		if f.Hidden || f.Name == "help" || f.Name == "version" {
			return
		}
		name := "`--" + f.Name + "`"
		if f.Shorthand != "" {
			name = "`-" + f.Shorthand + "`, " + name
		}
		def := f.DefValue
		if def == "" || def == "[]" {
			def = "(none)"
		} else {
			def = "`" + def + "`"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |", name, f.Value.Type(), def, cell(f.Usage)))
	})
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n\n| flag | type | default | meaning |\n|---|---|---|---|\n%s\n", title, strings.Join(rows, "\n"))
}

// cell makes prose safe inside a Markdown table cell: one line, pipes
// escaped, and no <name> read as an HTML tag.
func cell(s string) string {
	return strings.ReplaceAll(codeCell(s), "<", "&lt;")
}

// codeCell makes text safe inside a code span of a table cell.
func codeCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// prose keeps <name> in help text from being read as an HTML tag.
func prose(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "<", "&lt;")
}
