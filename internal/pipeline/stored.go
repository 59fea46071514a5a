package pipeline

import (
	"maps"
	"slices"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/jobrunner"
)

// storedSchedules are the schedules of a config found in the store. Unlike
// a config being applied, it may declare a job this binary lacks (applied
// by a custom build): such a job is disabled with a warning rather than
// refusing to start, so the stock binary still serves the store and
// --config can replace the config.
func (p *Pipeline) storedSchedules(cfg *config.Config) ([]jobrunner.Schedule, error) {
	known := *cfg
	known.Jobs = maps.Clone(cfg.Jobs)
	for _, name := range slices.Sorted(maps.Keys(cfg.Jobs)) {
		kind := cfg.Jobs[name].Kind(name)
		if _, ok := p.jobs.Lookup(kind); !ok {
			p.log.Warn("the config in force declares a job this weft binary lacks: it is disabled until a binary with it runs, or a config without it is applied",
				"job", "jobs."+name, "kind", kind, "known", p.jobs.KindNames())
			delete(known.Jobs, name)
		}
	}
	return p.schedules(&known)
}
