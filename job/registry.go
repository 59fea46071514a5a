package job

import (
	"fmt"
	"regexp"
	"sort"
	"sync"
)

// Info describes a kind of job for the registry.
type Info struct {
	// Name is how weft.yaml, the API and the CLI call the job.
	Name        string
	Description string
	// New returns a fresh instance for each run (and each resume).
	New func() Job
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Info{}
	nameRE     = regexp.MustCompile(`^[a-z][a-z0-9_]{1,61}$`)
)

// Register adds a kind of job. It panics on a bad or duplicate name or a
// nil New: these are programming errors, found at start-up.
func Register(info Info) {
	if !nameRE.MatchString(info.Name) {
		panic(fmt.Sprintf("job.Register: name %q must match %s", info.Name, nameRE))
	}
	if info.New == nil {
		panic(fmt.Sprintf("job.Register: %s has no New", info.Name))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[info.Name]; dup {
		panic(fmt.Sprintf("job.Register: %s registered twice", info.Name))
	}
	registry[info.Name] = info
}

// Lookup returns a registered job.
func Lookup(name string) (Info, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	info, ok := registry[name]
	return info, ok
}

// Registered lists the registered jobs by name.
func Registered() []Info {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Info, 0, len(registry))
	for _, info := range registry {
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ParamsValidator is implemented by jobs that check their parameters when
// a configuration declaring them is applied, so that a bad source URL or
// format is refused then rather than failing the first run at night.
type ParamsValidator interface {
	ValidateParams(params map[string]any) error
}
