// Package job is Weft's extension API for background work: a Job is
// prepared once and then performed in small steps, each step returning a
// checkpoint (a Status) that the runtime stores, so that a run interrupted
// by a crash, a deploy or a terminate resumes where it stopped.
//
// It follows the job model of Optimizely Connect Platform: Prepare reads
// settings and opens clients (instance fields do not survive a resume, the
// Status does), Perform does one unit of work of well under a minute and
// returns the next Status, and the run ends when a Status says Complete.
//
// Jobs are registered by name, Caddy-style, from an init function:
//
//	func init() {
//		job.Register(job.Info{Name: "nightly_export", New: func() job.Job { return new(Export) }})
//	}
//
// A program that imports its jobs and calls weftcmd.Main (package
// github.com/weftdata/weft/cmd) is a weft binary that can run them; jobs
// are scheduled and triggered like the built-in ones.
//
// The runtime hands every run an Env: a key-value store for cursors and
// state (KV), settings and encrypted secrets (Store), notifications for
// the activity log, a logger whose lines are stored with the run, and
// writers for events and custom objects. Batcher groups writes.
package job
