package pipeline

import (
	"fmt"
	"maps"
	"slices"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/quartz"
)

// storedSchedules are the schedules of a config found in the store. Unlike
// a config being applied, it may declare a job this binary lacks (applied
// by a custom build): such a job is disabled with a warning rather than
// refusing to start, so the stock binary still serves the store and
// --config can replace the config.
//
// The disabled job stays listed (GET /v1/jobs) with the reason.
func (p *Pipeline) storedSchedules(cfg *config.Config) ([]jobrunner.Schedule, error) {
	known := *cfg
	known.Jobs = maps.Clone(cfg.Jobs)
	var disabled []jobrunner.Schedule
	for _, name := range slices.Sorted(maps.Keys(cfg.Jobs)) {
		j := cfg.Jobs[name]
		kind := j.Kind(name)
		if _, ok := p.jobs.Lookup(kind); !ok {
			p.log.Warn("the config in force declares a job this weft binary lacks: it is disabled until a binary with it runs, or a config without it is applied",
				"job", "jobs."+name, "kind", kind, "known", p.jobs.KindNames())
			delete(known.Jobs, name)
			s := jobrunner.Schedule{Job: name, Kind: kind, Parameters: j.Parameters,
				Disabled: fmt.Sprintf("no job named %q is built into this weft binary (known: %s)", kind, p.jobs.KindNames())}
			s.Cron, _ = quartz.Parse(j.Cron) // checked when the config was applied
			disabled = append(disabled, s)
		}
	}
	out, err := p.schedules(&known)
	return append(out, disabled...), err
}
