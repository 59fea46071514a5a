package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"syscall"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/internal/destination/webhooktest"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// WebhookOpts describe a webhook delivery benchmark.
type WebhookOpts struct {
	// DB is the store: empty, or holding exactly Events demo events of an
	// earlier load with the same options.
	DB *store.DB
	// Events and Customers size the demo log. Defaults 200,000 and
	// 20,000.
	Events    int
	Customers int
	// Changes is how many membership changes are delivered. Default
	// 100,000.
	Changes int
	// BatchSize is the destination's batch_size. Default 500.
	BatchSize int
	Seed      uint64
	Progress  func(string)
}

func (o *WebhookOpts) withDefaults() {
	if o.Events <= 0 {
		o.Events = 200_000
	}
	if o.Customers <= 0 {
		o.Customers = o.Events / 10
	}
	storeDefaults(&o.Events, &o.Customers, &o.Seed, &o.Progress)
	if o.Changes <= 0 {
		o.Changes = 100_000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = destination.BatchSizeDefault
	}
}

// WebhookReport is what a webhook benchmark measured.
type WebhookReport struct {
	Backend   string
	Entities  int64
	Changes   int
	BatchSize int
	Requests  int64
	// Time is the delivery of every change, from the first read of the
	// cursor to the last commit.
	Time time.Duration
	// CPU is the processor time this process spent meanwhile (the job,
	// the receiver, and DuckDB, which runs in it; not a PostgreSQL
	// server's): on a busy machine, a bound of the rate on a free core.
	CPU time.Duration
}

// PerSecond is the delivery rate in changes per second.
func (r *WebhookReport) PerSecond() float64 { return float64(r.Changes) / r.Time.Seconds() }

func (r *WebhookReport) String() string {
	return fmt.Sprintf("%s: %d membership changes of %d entities to a local receiver in %d requests of up to %d (3 attributes, 2 identifier categories each): %s, %.0f changes/s; process CPU %s (%.0f changes per CPU second)",
		r.Backend, r.Changes, r.Entities, r.Requests, r.BatchSize, r.Time.Round(time.Millisecond), r.PerSecond(),
		r.CPU.Round(time.Millisecond), float64(r.Changes)/r.CPU.Seconds())
}

// Webhook loads, stitches and calculates the demo store (unless it holds
// the events already), records Changes segment membership changes
// spread over its live entities, and times one run of a webhook
// destination delivering all of them, signed, with identifiers and
// attributes, to a local receiver.
func Webhook(ctx context.Context, opts WebhookOpts) (*WebhookReport, error) {
	opts.withDefaults()
	cfg, err := config.Parse(demo.Config)
	if err != nil {
		return nil, err
	}
	db := opts.DB
	demoOpts := demo.Options{Seed: opts.Seed, Customers: opts.Customers, EventsPerCustomer: float64(opts.Events) / float64(opts.Customers)}
	if _, _, err := ensureLoaded(ctx, db, demoOpts, opts.Events, opts.Progress); err != nil {
		return nil, err
	}
	if _, err := ensureStitched(ctx, db, cfg.Stitching, opts.Progress); err != nil {
		return nil, err
	}
	if _, err := ensureCalculated(ctx, db, cfg, opts.Progress); err != nil {
		return nil, err
	}
	r := &WebhookReport{Backend: db.Dialect(), Changes: opts.Changes, BatchSize: opts.BatchSize}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM entities WHERE merged_into IS NULL").Scan(&r.Entities); err != nil {
		return nil, err
	}
	opts.Progress(fmt.Sprintf("recording %d membership changes", opts.Changes))
	if err := recordChanges(ctx, db, opts.Changes); err != nil {
		return nil, err
	}
	key := []byte("bench-key-0123456789abcdef012345")
	recv := webhooktest.Start(webhooktest.Options{Key: key})
	defer recv.Close()
	secrets, err := kv.NewSecrets(db, key, nil)
	if err != nil {
		return nil, err
	}
	if _, err := secrets.Put(ctx, "bench_hook_key", job.Record{destination.SecretField: string(key)}); err != nil {
		return nil, err
	}
	def := destination.Definition{ID: "bench_hook", Type: destination.TypeWebhook, URL: recv.URL, Segments: []string{"bench"},
		Attributes: []string{"total_spend", "orders", "city"}, Identifiers: []string{"email", "crm_id"}, Secret: "bench_hook_key", BatchSize: opts.BatchSize}
	deps := &destination.Deps{DB: db, Config: func(context.Context) (*destination.InForce, error) {
		return &destination.InForce{Destinations: []destination.Definition{def}, Attributes: cfg.Attributes}, nil
	}}
	opts.Progress("delivering")
	start, cpu := time.Now(), processCPU()
	st, err := runJob(ctx, db, deps, secrets, def.ID)
	r.Time, r.CPU = time.Since(start), processCPU()-cpu
	if err != nil {
		return nil, err
	}
	if got := len(recv.Changes()); got != opts.Changes || st.Sent != int64(opts.Changes) {
		return nil, fmt.Errorf("the receiver took %d changes (%d sent), want %d", got, st.Sent, opts.Changes)
	}
	r.Requests = st.Requests
	return r, nil
}

// runJob runs the destination's job in the job runtime, as weft serve
// does (a checkpoint stored after each batch), and waits for it to end.
func runJob(ctx context.Context, db *store.DB, deps *destination.Deps, secrets job.Store, id string) (*destination.WebhookState, error) {
	runner := jobrunner.New(db, jobrunner.Options{Builtin: []job.Info{destination.WebhookInfo(deps)},
		Env: job.Env{Secrets: secrets}, Exclusive: db.Capabilities().SingleWriter(), Log: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runner.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	run, err := runner.Trigger(ctx, destination.Kind(destination.TypeWebhook), map[string]any{"destination": id}, "bench")
	if err != nil {
		return nil, err
	}
	// Polled seldom: runner.Wait's 20 ms would cost DuckDB more CPU than
	// some of the batches.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !jobrunner.Finished(run.Status) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		if run, err = db.JobRunGet(ctx, run.ID); err != nil {
			return nil, err
		}
	}
	if run.Status != store.RunComplete {
		return nil, fmt.Errorf("the run ended %s: %v", run.Status, run.Errors)
	}
	var cp struct {
		State destination.WebhookState `json:"state"`
	}
	if err := json.Unmarshal(run.Checkpoint, &cp); err != nil {
		return nil, err
	}
	return &cp.State, nil
}

// recordChanges appends n changes of the segment bench: the live
// entities entering, then exiting, and so on, set-based.
func recordChanges(ctx context.Context, db *store.DB, n int) error {
	for round := 0; n > 0; round++ {
		res, err := db.ExecContext(ctx, `INSERT INTO segment_changes (segment_id, entity_id, change, changed_at, run_id)
			SELECT 'bench', id, $1, CAST($2 AS TIMESTAMPTZ), $3 FROM entities WHERE merged_into IS NULL ORDER BY id LIMIT $4`,
			[]string{"entered", "exited"}[round%2], time.Now().UTC(), fmt.Sprintf("bench-%d", round), n)
		if err != nil {
			return fmt.Errorf("record changes: %w", err)
		}
		added, err := res.RowsAffected()
		if err != nil || added == 0 {
			return fmt.Errorf("record changes: %d added (%v)", added, err)
		}
		n -= int(added)
	}
	return nil
}

// processCPU is the user and system time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
