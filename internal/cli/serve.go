package cli

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/privacy"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store/duckdb"
)

// serverFlags are the flags of every command that runs the platform.
type serverFlags struct {
	cfg       server.Config
	logLevel  string
	logFormat string
	gcPercent int
	// goMemoryLimit is the Go heap's soft limit (--go-memory-limit).
	goMemoryLimit string
}

// gcPercentDefault is Go's GOGC for the platform. The Delivery API
// allocates a request's insertions by the thousand; collecting at 100%
// growth of a small live heap spent a fifth of the CPU in the collector
// and cost a third of the throughput of 1,000-insertion requests.
const gcPercentDefault = 300

func (f *serverFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cfg.Addr, "addr", env("WEFT_ADDR", server.AddrDefault), "HTTP listen address (env WEFT_ADDR)")
	fs.StringVar(&f.cfg.DB, "db", env("WEFT_DB", ""), "PostgreSQL URL postgres://...; empty uses the embedded DuckDB in --data (env WEFT_DB)")
	fs.StringVar(&f.cfg.DataDir, "data", env("WEFT_DATA", server.DataDefault), "data directory of the embedded store (env WEFT_DATA)")
	fs.StringSliceVar(&f.cfg.APIKeys, "api-key", envList("WEFT_API_KEYS"), "bootstrap admin key, accepted in x-api-key on every route besides the keys of weft keys; repeat or comma-separate for several (env WEFT_API_KEYS)")
	fs.StringVar(&f.cfg.MetricsAddr, "metrics-addr", env("WEFT_METRICS_ADDR", ""), "serve GET /metrics on this listen address of its own, without a key, instead of on --addr behind the read scope (env WEFT_METRICS_ADDR)")
	fs.BoolVar(&f.cfg.StrictCatalog, "strict-catalog", envBool("WEFT_STRICT_CATALOG"), "reject events of unregistered event types instead of registering them (env WEFT_STRICT_CATALOG)")
	fs.Int64Var(&f.cfg.MaxBodyBytes, "max-body-bytes", envInt64("WEFT_MAX_BODY_BYTES", api.MaxBodyBytesDefault), "largest request body, before and after gzip decoding (env WEFT_MAX_BODY_BYTES)")
	fs.DurationVar(&f.cfg.ReadHeaderTimeout, "read-header-timeout", envDuration("WEFT_READ_HEADER_TIMEOUT", server.ReadHeaderTimeoutDefault), "longest a client may take to send a request's headers (env WEFT_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&f.cfg.BodyReadTimeout, "body-read-timeout", envDuration("WEFT_BODY_READ_TIMEOUT", api.BodyReadTimeoutDefault), "longest a request body may stop arriving before the request ends with 408; each wait, not the whole body, so slow large uploads go through; negative: no limit (env WEFT_BODY_READ_TIMEOUT)")
	fs.DurationVar(&f.cfg.IdleTimeout, "idle-timeout", envDuration("WEFT_IDLE_TIMEOUT", server.IdleTimeoutDefault), "longest a kept-alive connection may wait for its next request (env WEFT_IDLE_TIMEOUT)")
	fs.StringVar(&f.cfg.SecretKeyFile, "secret-key-file", env("WEFT_SECRET_KEY_FILE", ""), "file holding the key secrets are encrypted with: 32 bytes, base64 or hex (weft secrets keygen prints one); or set the key itself in WEFT_SECRET_KEY (env WEFT_SECRET_KEY_FILE)")
	fs.StringVar(&f.cfg.ConfigFile, "config", env("WEFT_CONFIG", ""), "weft.yaml to apply at start, as weft apply would (env WEFT_CONFIG)")
	fs.DurationVar(&f.cfg.StitchInterval, "stitch-interval", envDuration("WEFT_STITCH_INTERVAL", pipeline.StitchIntervalDefault), "how soon after events arrive stitching runs; negative: only on demand (env WEFT_STITCH_INTERVAL)")
	fs.DurationVar(&f.cfg.StitchMaxDelay, "stitch-max-delay", envDuration("WEFT_STITCH_MAX_DELAY", pipeline.StitchMaxDelayDefault), "longest background stitching waits while ingestion keeps the store busy (at least half of each --stitch-interval spent appending), so that a bulk load is not slowed by passes taken from under it; negative: never wait (env WEFT_STITCH_MAX_DELAY)")
	fs.DurationVar(&f.cfg.SegmentFieldsInterval, "segment-fields-interval", envDuration("WEFT_SEGMENT_FIELDS_INTERVAL", pipeline.SegmentFieldsIntervalDefault), "how often the copy of the payload fields that segment conditions read catches up with the event log, first at start (DuckDB; the first time over a large log it copies every event, in the background); negative: never (a segment preview then copies a short tail of its event type itself, or reads the log) (env WEFT_SEGMENT_FIELDS_INTERVAL)")
	fs.IntVar(&f.cfg.StitchBatch, "stitch-batch", int(envInt64("WEFT_STITCH_BATCH", 0)), fmt.Sprintf("events per stitching pass, each one transaction (a rebuild's passes share one, committed at its end); 0: %d, and %d for a rebuild (env WEFT_STITCH_BATCH)", stitch.BatchSizeDefault, stitch.RebuildBatchSizeDefault))
	fs.DurationVar(&f.cfg.Attributes.StaleAfter, "attributes-stale-after", envDuration("WEFT_ATTRIBUTES_STALE_AFTER", attr.StaleAfterDefault), "recalculate entities not calculated for this long (env WEFT_ATTRIBUTES_STALE_AFTER)")
	fs.DurationVar(&f.cfg.Attributes.ContextTTL, "context-ttl", envDuration("WEFT_CONTEXT_TTL", attr.ContextTTLDefault), "rerun context queries older than this (env WEFT_CONTEXT_TTL)")
	fs.IntVar(&f.cfg.Attributes.ChunkSize, "attributes-chunk", int(envInt64("WEFT_ATTRIBUTES_CHUNK", attr.ChunkSizeDefault)), "entities per attribute statement (env WEFT_ATTRIBUTES_CHUNK)")
	fs.DurationVar(&f.cfg.Jobs.Lease, "job-lease", envDuration("WEFT_JOB_LEASE", jobrunner.LeaseDefault), "a run whose worker has not renewed its lease for this long is resumed by another (env WEFT_JOB_LEASE)")
	fs.DurationVar(&f.cfg.Jobs.StallAfter, "job-stall-after", envDuration("WEFT_JOB_STALL_AFTER", jobrunner.StallAfterDefault), "terminate a run whose state has not changed for this long (env WEFT_JOB_STALL_AFTER)")
	fs.DurationVar(&f.cfg.Jobs.Retention, "job-retention", envDuration("WEFT_JOB_RETENTION", jobrunner.RetentionDefault), "keep finished runs and their logs this long (env WEFT_JOB_RETENTION)")
	fs.DurationVar(&f.cfg.Jobs.PerformTimeout, "job-perform-timeout", envDuration("WEFT_JOB_PERFORM_TIMEOUT", jobrunner.PerformTimeoutDefault), "cancel a Perform of a registered job that runs longer, and resume its run from the last checkpoint; negative: no limit; weft.yaml's jobs.<name>.perform_timeout overrides it (env WEFT_JOB_PERFORM_TIMEOUT)")
	fs.IntVar(&f.cfg.Jobs.Concurrency, "job-concurrency", int(envInt64("WEFT_JOB_CONCURRENCY", jobrunner.ConcurrencyDefault)), "runs of different jobs at once (env WEFT_JOB_CONCURRENCY)")
	fs.StringVar(&f.cfg.Plugins.StorageURL, "plugin-storage", env("WEFT_PLUGIN_STORAGE", ""), "folder plugin files are kept in: file:///dir, s3://bucket/prefix, azblob://container/prefix; default <data>/plugin-storage (env WEFT_PLUGIN_STORAGE)")
	fs.StringVar(&f.cfg.Plugins.BaseURL, "public-url", env("WEFT_PUBLIC_URL", ""), "base URL plugin processes reach the API at, in their signed URLs; default http://<addr> (env WEFT_PUBLIC_URL)")
	fs.DurationVar(&f.cfg.Plugins.URLTTL, "plugin-url-ttl", envDuration("WEFT_PLUGIN_URL_TTL", plugin.URLTTLDefault), "validity of the signed URLs of plugin runs (env WEFT_PLUGIN_URL_TTL)")
	fs.DurationVar(&f.cfg.Plugins.DevURLTTL, "plugin-dev-url-ttl", envDuration("WEFT_PLUGIN_DEV_URL_TTL", plugin.DevURLTTLDefault), "validity of the signed URLs of development manifests (env WEFT_PLUGIN_DEV_URL_TTL)")
	fs.DurationVar(&f.cfg.Deploy.StartTimeout, "plugin-deploy-start-timeout", envDuration("WEFT_PLUGIN_DEPLOY_START_TIMEOUT", plugin.DeployStartTimeoutDefault), "how long a deployed plugin's server may take to answer 200 on its statusPath (env WEFT_PLUGIN_DEPLOY_START_TIMEOUT)")
	fs.DurationVar(&f.cfg.Deploy.CheckInterval, "plugin-deploy-check-interval", envDuration("WEFT_PLUGIN_DEPLOY_CHECK_INTERVAL", plugin.DeployCheckIntervalDefault), fmt.Sprintf("how often a deployed plugin's statusPath is checked; %d failures in a row restart the server (env WEFT_PLUGIN_DEPLOY_CHECK_INTERVAL)", plugin.DeployMaxFailuresDefault))
	fs.IntVar(&f.cfg.Deploy.MaxRestarts, "plugin-deploy-max-restarts", int(envInt64("WEFT_PLUGIN_DEPLOY_MAX_RESTARTS", plugin.DeployMaxRestartsDefault)), "restarts of a deployed plugin's server before its deployment is deploy_failed (env WEFT_PLUGIN_DEPLOY_MAX_RESTARTS)")
	fs.StringArrayVar(&f.cfg.PluginCommands, "plugin-command", envList("WEFT_PLUGIN_COMMANDS"), "a plugin command the config may name, as a pattern over its argv joined by spaces (* any text, ? one character, \\ escapes); repeat for several; default: the commands of the plugins in --config (env WEFT_PLUGIN_COMMANDS, comma-separated)")
	fs.StringVar(&f.cfg.PluginCommandsFile, "plugin-commands-file", env("WEFT_PLUGIN_COMMANDS_FILE", ""), "file of --plugin-command patterns, one a line (# starts a comment) (env WEFT_PLUGIN_COMMANDS_FILE)")
	fs.StringArrayVar(&f.cfg.ImportFolders, "import-folder", envList("WEFT_IMPORT_FOLDERS"), "a folder file:// import sources may read, sub-folders included; repeat for several; default <data>/imports (env WEFT_IMPORT_FOLDERS, comma-separated)")
	fs.StringArrayVar(&f.cfg.ExportFolders, "export-folder", envList("WEFT_EXPORT_FOLDERS"), "a folder file:// targets of file_export destinations may write to, sub-folders included; repeat for several; default <data>/exports (env WEFT_EXPORT_FOLDERS, comma-separated)")
	fs.StringVar(&f.cfg.PrivacyExports, "privacy-exports", env("WEFT_PRIVACY_EXPORTS", ""), "folder privacy access and portability exports are written to: file:///dir, s3://bucket/prefix, azblob://container/prefix; default <data>/privacy-exports (env WEFT_PRIVACY_EXPORTS)")
	fs.DurationVar(&f.cfg.PrivacyURLTTL, "privacy-url-ttl", envDuration("WEFT_PRIVACY_URL_TTL", privacy.URLTTLDefault), "validity of the signed download URLs of privacy exports (env WEFT_PRIVACY_URL_TTL)")
	fs.DurationVar(&f.cfg.PrivacyExportRetention, "privacy-export-retention", envDuration("WEFT_PRIVACY_EXPORT_RETENTION", privacy.ExportRetentionDefault), "how long privacy access and portability exports are kept after they are written; the privacy_requests job (also run daily) deletes older ones; negative: kept for good (env WEFT_PRIVACY_EXPORT_RETENTION)")
	fs.StringVar(&f.cfg.DuckDB.MemoryLimit, "duckdb-memory-limit", env("WEFT_DUCKDB_MEMORY_LIMIT", duckdb.MemoryLimitDefault), "memory the embedded DuckDB may hold for its hash tables, sorts, temporary tables and cached blocks (its memory_limit: 2GB, 512MiB); past it, it spills to --duckdb-temp-directory (env WEFT_DUCKDB_MEMORY_LIMIT)")
	fs.StringVar(&f.cfg.DuckDB.TempDirectory, "duckdb-temp-directory", env("WEFT_DUCKDB_TEMP_DIRECTORY", ""), "folder the embedded DuckDB spills to past --duckdb-memory-limit; default weft.duckdb.tmp in --data (env WEFT_DUCKDB_TEMP_DIRECTORY)")
	fs.StringVar(&f.goMemoryLimit, "go-memory-limit", env("WEFT_GO_MEMORY_LIMIT", ""), "soft limit of the Go heap, as GOMEMLIMIT takes it (1GiB, 512MiB): the collector runs harder near it; empty: none; the GOMEMLIMIT environment variable, when set, wins (env WEFT_GO_MEMORY_LIMIT)")
	fs.IntVar(&f.gcPercent, "gc-percent", int(envInt64("WEFT_GC_PERCENT", gcPercentDefault)), "Go garbage collector target: collect when the heap grew by this percent of the live heap; the GOGC environment variable, when set, wins (env WEFT_GC_PERCENT)")
	fs.StringVar(&f.logLevel, "log-level", env("WEFT_LOG_LEVEL", "info"), "debug, info, warn or error (env WEFT_LOG_LEVEL)")
	fs.StringVar(&f.logFormat, "log-format", env("WEFT_LOG_FORMAT", "text"), "text or json (env WEFT_LOG_FORMAT)")
}

// config returns the server configuration with the logger set up.
func (f *serverFlags) config(cmd *cobra.Command) (server.Config, error) {
	logger, err := newLogger(cmd.ErrOrStderr(), f.logLevel, f.logFormat)
	if err != nil {
		return server.Config{}, err
	}
	slog.SetDefault(logger)
	if os.Getenv("GOGC") == "" && f.gcPercent > 0 {
		debug.SetGCPercent(f.gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" && f.goMemoryLimit != "" {
		n, err := parseByteSize(f.goMemoryLimit)
		if err != nil {
			return server.Config{}, fmt.Errorf("--go-memory-limit: %w", err)
		}
		debug.SetMemoryLimit(n)
	}
	cfg := f.cfg
	cfg.Logger = logger
	cfg.SecretKey = os.Getenv("WEFT_SECRET_KEY") // never a flag: it would show in ps
	return cfg, cfg.Validate()
}

// start validates the flags and starts the platform.
func (f *serverFlags) start(cmd *cobra.Command) (*server.Server, server.Config, error) {
	cfg, err := f.config(cmd)
	if err != nil {
		return nil, cfg, err
	}
	s, err := server.Start(cmd.Context(), cfg)
	return s, cfg, err
}

func newServeCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the platform: the HTTP API over the event log",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, _, err := f.start(cmd)
			if err != nil {
				return err
			}
			return s.Wait(cmd.Context())
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// tempDataDirHelp makes --help of a command that calls useTempDataDir
// tell the truth: without --data (or WEFT_DATA) it uses a new temporary
// directory, not server.DataDefault.
func tempDataDirHelp(cmd *cobra.Command) {
	if os.Getenv("WEFT_DATA") != "" {
		return
	}
	fl := cmd.Flags().Lookup("data")
	fl.DefValue = ""
	fl.Usage = "data directory of the embedded store; default a new temporary directory (env WEFT_DATA)"
}

// storeGiven reports whether the flags name a store (--data, WEFT_DATA or
// --db), which a benchmark then uses instead of a fresh one.
func (f *serverFlags) storeGiven(cmd *cobra.Command) bool {
	return cmd.Flags().Changed("data") || os.Getenv("WEFT_DATA") != "" || f.cfg.DB != ""
}

// useTempDataDir points the embedded store at a new temporary directory
// unless the user chose a data directory or PostgreSQL. It returns the
// directory, or "" when it left the choice alone.
func (f *serverFlags) useTempDataDir(cmd *cobra.Command, prefix string) (string, error) {
	if f.storeGiven(cmd) {
		return "", nil
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	f.cfg.DataDir = dir
	return dir, nil
}

// parseByteSize reads a size as GOMEMLIMIT does: a whole number of bytes
// with an optional unit B, KiB, MiB, GiB or TiB.
func parseByteSize(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	num, shift := s, uint(0)
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = n, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q: want a positive size such as 1GiB or 512MiB", s)
	}
	return n << shift, nil
}
