package pipeline

import (
	"context"
	"fmt"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/quartz"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// webhookCronDefault runs a webhook that declares no cron every minute: it
// catches changes recorded by other processes; the segments job triggers
// webhooks of segments after each run that changed memberships
// (TriggerDestinations).
const webhookCronDefault = "0 * * * * ?"

// destinationDeps are what the destination jobs and their API read.
func (p *Pipeline) destinationDeps() *destination.Deps {
	return &destination.Deps{DB: p.db, ExportFolders: p.opts.ExportFolders, Config: func(ctx context.Context) (*destination.InForce, error) {
		_, cfg, err := p.Config(ctx)
		if err != nil {
			return nil, err
		}
		return &destination.InForce{Destinations: cfg.Destinations, Attributes: cfg.Attributes}, nil
	}}
}

// destinationJobs are the job kinds of the destination types built in.
func (p *Pipeline) destinationJobs() []job.Info {
	deps := p.destinationDeps()
	var out []job.Info
	for _, t := range destination.Types() {
		if t.Job != nil {
			out = append(out, t.Job(deps))
		}
	}
	return out
}

// Destinations reads the destinations' state and replays dead letters.
func (p *Pipeline) Destinations() *destination.Service {
	return destination.NewService(p.destinationDeps(), func(ctx context.Context, name string) (*store.JobRun, error) {
		return p.jobs.Trigger(ctx, name, nil, "replay")
	})
}

// destinationSchedules declares destination:<id> for every destination,
// of kind destination_<type>, on its cron (a webhook's default: every
// minute). A type whose job this binary lacks is listed, disabled.
func (p *Pipeline) destinationSchedules(cfg *config.Config) ([]jobrunner.Schedule, error) {
	var out []jobrunner.Schedule
	for _, d := range cfg.Destinations {
		s := jobrunner.Schedule{Job: destination.JobName(d.ID), Kind: destination.Kind(d.Type),
			Parameters: map[string]any{"destination": d.ID}, Enabled: true}
		cron := d.Cron
		if cron == "" && d.Type == destination.TypeWebhook {
			cron = webhookCronDefault
		}
		if cron != "" {
			c, err := quartz.Parse(cron)
			if err != nil {
				return nil, &config.Error{Field: "destinations[" + d.ID + "].cron", Err: err}
			}
			s.Cron = c
		}
		if _, ok := p.jobs.Lookup(s.Kind); !ok {
			s.Enabled, s.Disabled = false, fmt.Sprintf("the %s destination type is not built into this weft binary", d.Type)
		}
		out = append(out, s)
	}
	return out, nil
}

// checkDestinations checks at apply what needs the database: each
// webhook's secret holds a key.
func (p *Pipeline) checkDestinations(ctx context.Context, cfg *config.Config) error {
	secrets := p.opts.Jobs.Env.Secrets
	if secrets == nil {
		return nil
	}
	for _, d := range cfg.Destinations {
		if d.Type != destination.TypeWebhook {
			continue
		}
		rec, err := secrets.Get(ctx, d.Secret, destination.SecretField)
		if err != nil {
			return &config.Error{Field: "destinations[" + d.ID + "].secret", Err: fmt.Errorf("read secret %s: %w", d.Secret, err)}
		}
		if v, _ := rec[destination.SecretField].(string); v == "" {
			return &config.Error{Field: "destinations[" + d.ID + "].secret",
				Err: fmt.Errorf("secret %s has no field %s: set it first (weft secrets set %s %s=...)", d.Secret, destination.SecretField, d.Secret, destination.SecretField)}
		}
	}
	return nil
}

// TriggerDestinations starts a run of every webhook of segments unless one
// is waiting: what a segments run that changed memberships calls.
func (p *Pipeline) TriggerDestinations(ctx context.Context, trigger string) error {
	_, cfg, err := p.Config(ctx)
	if err != nil {
		return err
	}
	for _, d := range cfg.Destinations {
		if d.Type == destination.TypeWebhook && len(d.Segments) > 0 {
			if err := p.jobs.Ensure(ctx, destination.JobName(d.ID), trigger); err != nil {
				return fmt.Errorf("trigger destination %s: %w", d.ID, err)
			}
		}
	}
	return nil
}
