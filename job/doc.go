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
// # Typed jobs
//
// Most jobs are a Worker[P, S]: P is a struct of the run's parameters,
// decoded strictly (an unknown parameter or a wrong type is refused,
// naming it, when a run is triggered and when weft.yaml is applied); S is
// the checkpoint's state, stored as JSON after every call. Typed turns a
// Worker into the Info that Register takes, Caddy-style, from an init
// function:
//
//	func init() {
//		job.Register(job.Typed[ExportParams, ExportState]("nightly_export", "export the day's orders",
//			func() *Export { return new(Export) }))
//	}
//
// A worker may also check its parameters beyond their type
// (ParamsValidator) and release what it holds when its run ends (Closer).
// A Job written by hand reads Invocation.Parameters with ParamsOf and its
// Status with StateOf and NewStatus.
//
// A program that imports its jobs and calls weftcmd.Main (package
// github.com/weftdata/weft/cmd) is a weft binary that can run them; jobs
// are scheduled and triggered like the built-in ones.
//
// The runtime hands every run an Env: key-value stores for cursors and
// state (KV), settings and encrypted secrets (Store), notifications for
// the activity log, a logger whose lines are stored with the run, and
// writers for events and custom objects. Batcher groups writes.
//
// # Key-value stores
//
// Env.KV is the job's own store: its records are apart from every other
// job's, by the job's name (its name under jobs: in weft.yaml, or its kind
// when triggered by kind), as OCP keeps an app's records apart per
// install; two jobs of one kind keep separate state. Env.SharedKV is one
// store shared by every job of the deployment, as OCP's sharedKvStore is
// shared by the installs of an app: for what outlives a job's name, such
// as blob_import's cursor, keyed by source and target. Both have the
// whole KV contract: records that expire (WithTTL on any write,
// PatchTTL, Expire), counters, lists, and number and string sets (Set),
// each in a single and a Multi form.
package job
