package job

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"sync"
	"time"
)

// Info describes a kind of job for the registry.
type Info struct {
	// Name is how weft.yaml, the API and the CLI call the job.
	Name        string
	Description string
	// New returns a fresh instance for each run (and each resume).
	New func() Job
	// Params checks a run's parameters before the run is created: when
	// it is triggered (a refusal is a 400 naming the parameter) and when
	// a configuration declaring the job is applied. Typed sets it to
	// decode them strictly into the worker's params type and call its
	// ParamsValidator. Nil: a job that is a ParamsValidator of raw JSON
	// checks them, else anything is accepted.
	Params func(ctx context.Context, params json.RawMessage) error
	// PerformTimeout is the longest one Perform of the job may take
	// outside Interruptible work before the runtime cancels it and
	// resumes the run from the Status the Perform was given: 0 takes the
	// runtime's default (60 s, as OCP), NoPerformTimeout none. weft.yaml
	// (jobs.<name>.perform_timeout) overrides it.
	PerformTimeout time.Duration
}

// NoPerformTimeout, as Info.PerformTimeout, lets a job's Performs take as
// long as they need: for jobs whose unit of work grows with the data,
// such as importing one file.
const NoPerformTimeout time.Duration = -1

// ValidateParams checks parameters as Params says.
func (i Info) ValidateParams(ctx context.Context, params json.RawMessage) error {
	if i.Params != nil {
		return i.Params(ctx, params)
	}
	if v, ok := i.New().(ParamsValidator[json.RawMessage]); ok {
		return v.ValidateParams(ctx, params)
	}
	return nil
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

// ParamsValidator is implemented by jobs that check their parameters
// beyond their type when a configuration declaring them is applied or a
// run is triggered, so that a bad source URL or format is refused then
// rather than failing the first run at night. A Worker[P, S] implements
// ParamsValidator[P] and gets the parameters decoded; a Job implements
// ParamsValidator[json.RawMessage]. Return a *ParamError to name the
// parameter at fault.
type ParamsValidator[P any] interface {
	ValidateParams(ctx context.Context, params P) error
}

// Closer is implemented by a job instance (a Job, or the Worker a Typed
// job wraps) that holds resources: a bucket, a client, a file. The
// runtime calls Close once the instance's run ends, for any reason:
// complete, error (a retry gets a new instance), terminated, lease lost
// or shutdown. An error from Close is logged; it does not change how the
// run ended. An instance made only to check parameters is not closed, so
// open resources in Prepare, not in New.
type Closer = io.Closer
