// Package blobimport is the blob_import job: it imports the new files of a
// folder in blob storage (a local directory, S3 or Azure Blob Storage,
// through gocloud.dev/blob) into the event log or a custom object type,
// one file per Perform, remembering in the kv store how far it got. It is
// the import job of OCP's "write a job" guide, without that sample's bug
// of moving its cursor backwards. A blank import registers it:
//
//	import _ "github.com/weftdata/weft/internal/blobimport"
//
// # Parameters
//
//   - source: the folder, as a URL. file:///var/lib/weft/imports (the
//     directory), s3://bucket/prefix?region=eu-west-1 (for an
//     S3-compatible server add endpoint=http://host:9000 and
//     use_path_style=true), azblob://container/prefix (for Azurite add
//     domain=127.0.0.1:10000 and protocol=http). The URL's path is the
//     prefix of the keys imported, taken as a folder ("exports" lists
//     "exports/..."); every key under it is imported, sub-folders too.
//     Other query options are gocloud's; an unknown one is an error.
//     Credentials come from the environment, as gocloud's drivers read
//     them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION or the
//     shared AWS config; AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY,
//     AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING, else
//     Azure's default credential chain), never from the URL.
//   - format: json (one array of records), ndjson (one record per line)
//     or csv (a header row naming the columns; a column named a.b fills
//     field b of object a). Every file under the prefix is read in this
//     format, whatever its name: keep one format per folder.
//   - target: events (the records are events as POST /v1/events takes
//     them) or objects:<type> (records of a custom object type, upserted
//     by primary key).
//   - mapping (optional): how to build each target record from a file's
//     record, as an object from target field to source field:
//     {"payload.email": "Email"}. A value may also be {"field": "Total",
//     "type": "number"} (types string, number, boolean; CSV values are
//     strings until converted) or {"value": "purchase"} (a constant).
//     Dotted names reach into objects on both sides; a source field the
//     record lacks leaves the target field out. Without a mapping the
//     records must already have the target's shape.
//   - batch_size (optional): records per write, 20,000 for events and
//     1,000 for objects by default.
//
// They decode strictly into Args (an unknown parameter or a wrong type is
// refused, naming it) when weft.yaml is applied and when a run is
// triggered, and ParseParams checks their values then. Prepare checks them
// again and opens the source before anything runs; the runtime closes the
// source (Job.Close) when the run ends, however it ends.
//
// # Which files, in which order
//
// A run lists the files (hidden ones, whose name starts with a dot, are
// left out) modified after the cursor and imports them oldest first, files
// modified at the same time in the byte order of their names: the order
// is (modification time, name). The cursor is the last file imported, as
// {mod_time, name}, stored in the shared kv store (Env.SharedKV) under
// CursorKey(source, target): "blob_import:" and a hash of the source URL
// (query parameters sorted) and the target, so that every job importing a
// source into a target shares its cursor, whatever its name. Another
// source URL or target starts from the
// beginning; so does deleting the key. The cursor only moves forward: it is
// written with a compare-and-swap that keeps a later stored cursor, so a
// run never undoes the progress of another. A second run right after a
// complete one imports nothing.
//
// Consequences worth knowing: a file modified again later is imported
// again (events with ids, or derived ones, are not duplicated; objects are
// upserted), and a file that appears with a modification time at or
// before the cursor (copied in keeping its old time, or written within the
// same second as the cursor's file under an earlier name, since S3 and
// Azure keep times to the second) is never imported. Give files names that
// sort in the order they are written, and copy them in with fresh times.
//
// # State machine and crashes
//
// Like the guide's job: the first Perform lists the files into the state
// (phase list), each following one imports one file (phase import), and a
// last one sends the notification (phase complete). A file's records are
// written in batches, two in flight; the cursor is stored only after every
// batch of the file is durable, and the checkpoint after that. A run
// interrupted anywhere resumes from its last checkpoint and imports at
// most the one file it was in again; that repeat is harmless, since events
// are deduplicated by id (the ingester derives a deterministic id from the
// content of an event sent without one) and objects are upserts.
//
// # Bad rows, bad files
//
// A row that cannot be read (invalid JSON on an NDJSON line, a CSV row
// with the wrong number of fields), converted (a mapping's number that is
// not one) or stored (an event without a type, an object field of the
// wrong type) is skipped and counted; the good rows beside it are
// imported. Each is logged with its file and line (the first
// MaxLoggedRejections of a file), and the first MaxReportedRejections of a
// run are kept in its state and listed in the final notification. The
// line of a JSON array's record is the line it starts on.
//
// A file that cannot be read at all (gone since the listing, a broken
// JSON array, a CSV header that is not one) or a listing that fails ends
// the run in error, with an error notification (activity "Blob import")
// saying what and where; the cursor stays before that file, so the next
// run starts with it. The runtime retries a failed run once.
//
// # Notifications
//
// A run that completes sends an info notification, "Imported data", with
// the files, records imported and rows rejected. Records imported count
// what the target accepted, events already in the log included.
package blobimport
