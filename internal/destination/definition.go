package destination

// Definition is one destination of weft.yaml.
type Definition struct {
	// ID names the destination: ^[a-z][a-z0-9_]*$; it runs as the job
	// destination:<id>.
	ID string `json:"id" yaml:"id"`
	// Type is webhook or file_export.
	Type string `json:"type" yaml:"type"`
	// Segments (webhook) are the segments whose membership changes are
	// sent.
	Segments []string `json:"segments,omitempty" yaml:"segments,omitempty"`
	// Segment (file_export) is the segment exported; every profile when
	// empty.
	Segment string `json:"segment,omitempty" yaml:"segment,omitempty"`
	// Attributes are sent with each change or profile.
	Attributes []string `json:"attributes,omitempty" yaml:"attributes,omitempty"`
	// Identifiers are the identifier categories sent with each change or
	// profile.
	Identifiers []string `json:"identifiers,omitempty" yaml:"identifiers,omitempty"`
	// Consent names a bool attribute: profiles without it true are not sent.
	Consent string `json:"consent,omitempty" yaml:"consent,omitempty"`
	// Cron is when the destination runs (Quartz, UTC).
	Cron string `json:"cron,omitempty" yaml:"cron,omitempty"`

	// URL (webhook) is where changes are POSTed.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// Secret (webhook) names the Weft secret holding the HMAC key.
	Secret string `json:"secret,omitempty" yaml:"secret,omitempty"`
	// BatchSize (webhook) is the most changes per request.
	BatchSize int `json:"batch_size,omitempty" yaml:"batch_size,omitempty"`
	// RateLimit (webhook) is the most requests per second (0: no limit).
	RateLimit float64 `json:"rate_limit,omitempty" yaml:"rate_limit,omitempty"`
	// Timeout (webhook) bounds each request, a Go duration (default 10s).
	Timeout string `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// MaxAttempts (webhook) is how often one batch is sent in a run before
	// the run ends in error (default 8); the next run sends it again.
	MaxAttempts int `json:"max_attempts,omitempty" yaml:"max_attempts,omitempty"`

	// Target (file_export) is the folder written to: file://, s3://,
	// azblob://.
	Target string `json:"target,omitempty" yaml:"target,omitempty"`
	// Format (file_export) is csv, ndjson or parquet.
	Format string `json:"format,omitempty" yaml:"format,omitempty"`
	// Mode (file_export) is snapshot (every member each run) or changes
	// (what changed since the last export).
	Mode string `json:"mode,omitempty" yaml:"mode,omitempty"`
}
