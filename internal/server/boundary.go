package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/plugin"
)

// ServerKeyFile is the key file made in the data directory when no secret
// key is given: the key, kept outside the database, that the plugin URL
// signing key is derived from.
const ServerKeyFile = "server.key"

// ImportFolderDefault is the folder under the data directory that file://
// import sources may read when no --import-folder is given.
const ImportFolderDefault = "imports"

// ExportFolderDefault is the folder under the data directory that
// file:// targets of file exports may write to when no --export-folder is
// given.
const ExportFolderDefault = "exports"

// boundary fills in what the operator decides at start and an API call
// cannot: the plugin commands allowed, the folders imports read and
// exports write, and the key plugin URLs are signed under.
func (c *Config) boundary(secretKey []byte) error {
	cmds, err := c.pluginCommands()
	if err != nil {
		return err
	}
	c.Plugins.Commands = cmds
	if c.Jobs.Env.Folders, err = c.folders("--import-folder", c.ImportFolders, ImportFolderDefault); err != nil {
		return err
	}
	if c.exportFolders, err = c.folders("--export-folder", c.ExportFolders, ExportFolderDefault); err != nil {
		return err
	}
	if c.Plugins.ServerKey == nil {
		if c.Plugins.ServerKey, err = serverKey(c.DataDir, secretKey); err != nil {
			return err
		}
	}
	return nil
}

// folders are the absolute paths of the folders of a flag, or the
// default folder under the data directory.
func (c *Config) folders(flag string, given []string, def string) ([]string, error) {
	if len(given) == 0 {
		given = []string{filepath.Join(c.DataDir, def)}
	}
	out := make([]string, 0, len(given))
	for _, f := range given {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", flag, f, err)
		}
		out = append(out, abs)
	}
	return out, nil
}

// pluginCommands are the patterns of --plugin-command and
// --plugin-commands-file or, with neither, the exact commands of the
// plugins of --config: the operator wrote that file.
func (c *Config) pluginCommands() (plugin.Commands, error) {
	cmds := plugin.Commands{Patterns: append([]string(nil), c.PluginCommands...), Rule: "--plugin-command"}
	if c.PluginCommandsFile != "" {
		data, err := os.ReadFile(c.PluginCommandsFile)
		if err != nil {
			return cmds, fmt.Errorf("--plugin-commands-file: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
				cmds.Patterns = append(cmds.Patterns, line)
			}
		}
		cmds.Rule = "--plugin-command and --plugin-commands-file " + c.PluginCommandsFile
	}
	if len(c.PluginCommands) > 0 || c.PluginCommandsFile != "" {
		return cmds, nil
	}
	if c.ConfigFile == "" {
		cmds.Rule = "no --plugin-command given"
		return cmds, nil
	}
	cmds.Rule = "no --plugin-command given: the commands of --config " + c.ConfigFile
	body, err := os.ReadFile(c.ConfigFile)
	if err != nil {
		return cmds, fmt.Errorf("--config: %w", err)
	}
	cfg, err := config.Parse(body)
	if err != nil {
		return cmds, fmt.Errorf("--config %s: %w", c.ConfigFile, err)
	}
	for _, p := range cfg.Plugins {
		cmds.Patterns = append(cmds.Patterns, plugin.EscapePattern(plugin.CommandLine(p.Command)))
	}
	return cmds, nil
}

// serverKey is the secret key when one is given, else the key file in the
// data directory, made on first start. Either way it lives outside the
// database, where SQL from the config cannot read it.
func serverKey(dataDir string, secretKey []byte) ([]byte, error) {
	if secretKey != nil {
		return secretKey, nil
	}
	path := filepath.Join(dataDir, ServerKeyFile)
	if key, err := kv.ReadSecretKeyFile(path); err == nil {
		return key, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if os.IsExist(err) {
		return kv.ReadSecretKeyFile(path) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("server key file: %w", err)
	}
	_, err = f.WriteString(kv.GenerateSecretKey() + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("server key file: %w", err)
	}
	return kv.ReadSecretKeyFile(path)
}

// warnCommands warns of the plugins of the config in force (applied
// before this server's allowlist, or by another process) whose commands
// the operator did not allow: their runs fail until the command is
// allowed or the config changes.
func warnCommands(ctx context.Context, c configSource, plugins *plugin.Service, log *slog.Logger) {
	cfg, err := c.Current(ctx)
	if err != nil || cfg == nil {
		return
	}
	for i := range cfg.Plugins {
		if err := plugins.CheckCommand(&cfg.Plugins[i]); err != nil {
			log.Warn("the config in force names a plugin command this server does not allow: its runs fail until it is allowed", "error", err)
		}
	}
}
