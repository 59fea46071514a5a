package plugin

import (
	"fmt"
	"regexp"
	"strings"
)

// Commands are the plugin commands the operator allows: what runs
// programs on the server is decided by whoever starts weft serve, never by
// an API call that puts a config. A command is allowed when its argv,
// joined by single spaces, matches one of the patterns: * matches any run
// of characters (spaces and slashes included), ? one character, and \
// makes the next character literal.
type Commands struct {
	// Patterns are the allowed commands; none allows no command.
	Patterns []string
	// Rule says where the patterns come from, for messages: "--plugin-command"
	// or "the commands of --config weft.yaml".
	Rule string
}

// CommandLine is argv as the patterns see it: joined by single spaces.
func CommandLine(argv []string) string { return strings.Join(argv, " ") }

// EscapePattern is the pattern that matches exactly s.
func EscapePattern(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '*' || r == '?' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// patternRE compiles a pattern to an anchored regular expression.
func patternRE(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^`)
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\\' && i+1 < len(rs):
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case r == '*':
			b.WriteString(`(?s:.*)`)
		case r == '?':
			b.WriteString(`(?s:.)`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// Allowed reports whether argv matches one of the patterns.
func (c Commands) Allowed(argv []string) bool {
	line := CommandLine(argv)
	for _, p := range c.Patterns {
		if patternRE(p).MatchString(line) {
			return true
		}
	}
	return false
}

// CommandError is a plugin command the operator did not allow.
type CommandError struct {
	Plugin  string
	Command []string
	Rule    string // where the allowed patterns come from
	Allowed []string
}

func (e *CommandError) Error() string {
	allowed := "none"
	if len(e.Allowed) > 0 {
		allowed = fmt.Sprintf("%q", e.Allowed)
	}
	return fmt.Sprintf("plugin %s: command %q is not allowed on this server (rule: %s, allowing %s); whoever starts weft serve allows commands with --plugin-command or --plugin-commands-file",
		e.Plugin, CommandLine(e.Command), e.Rule, allowed)
}

// Check refuses a plugin whose command is not allowed.
func (c Commands) Check(p *Definition) error {
	if c.Allowed(p.Command) {
		return nil
	}
	rule := c.Rule
	if rule == "" {
		rule = "no --plugin-command given"
	}
	return &CommandError{Plugin: p.Name, Command: p.Command, Rule: rule, Allowed: c.Patterns}
}

// CheckCommand refuses a plugin whose command the operator did not allow
// (Options.Commands).
func (s *Service) CheckCommand(p *Definition) error { return s.opts.Commands.Check(p) }
