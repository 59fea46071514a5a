// Package fileexport is the file_export destination: each run writes a
// segment's members, or every live profile, with the chosen identifiers
// and attributes, as one CSV, NDJSON or Parquet file to a folder of local
// disk, S3 or Azure Blob Storage (package bucket), and runs as the job
// destination:<id> of kind destination_file_export.
//
// # What a file holds
//
// One record per profile (mode snapshot) or per membership change (mode
// changes of a segment): entity_id; for changes, change (entered or
// exited) and changed_at; identifiers, an object of the chosen
// categories; attributes, an object of the chosen attributes, typed by
// their data type (numbers, booleans, dates as YYYY-MM-DD, datetimes in
// RFC 3339 UTC). A profile without a value has null. NDJSON writes that
// object per line. CSV flattens it: the header names
// entity_id[,change,changed_at],identifiers.<category>...,attributes.<id>...
// (the dotted form blob_import reads back), quoted as RFC 4180 says, lists
// as JSON text. Parquet has the same columns, identifiers and attributes
// as struct columns; an identifier category is always a list of strings
// there and an attribute that may hold several values (list, or a custom
// query of several rows) a list of its type, because a Parquet column has
// one type. In NDJSON and CSV an identifier category with several values
// and a list attribute are lists, one value is a scalar.
//
// The rows come from one set-based statement over the population (the
// segment's members, its changes after the cursor, or every live entity)
// joined to the chosen values and grouped per profile, read as a stream:
// at most one row group of Parquet (MaxRowGroupRows) is in memory.
//
// # Consent
//
// With consent: <attribute>, only profiles whose bool attribute is true
// are written (weft_consenting, as delivery and plugins filter).
//
// # Files appear complete or not at all
//
// A file is named <target>/<destination id>/<UTC time>-<run id>.<ext>
// (time as 20060102T150405Z, the run's scheduled time), so names sort in
// the order they were made and a retried run writes the same name again.
// On local disk it is written as .<name>.partial beside the final name
// (hidden: readers that skip dot files, blob_import among them, never list
// it), synced, renamed, and the directory synced; partial files a killed
// run left are removed when the next run of the destination starts. On S3
// and Azure the upload is committed when the writer closes (the object
// appears then, whole) and cancelled on any error.
//
// # Changes and the cursor
//
// Mode changes of a segment writes the segment_changes after the
// destination's cursor (destination_cursors.segment_seq) up to the last
// seq when the run started; the cursor moves there only once the file is
// committed, in the run's next step. A run killed before writes the same
// changes again, to the same file name when the same run resumes. A run
// with no change of its segment writes no file.
//
// Mode changes without a segment writes the profiles whose chosen
// identifiers or attributes changed since they were last written (or were
// never written), found set-based by the webhook's changed-profile
// detection (destination_profile_queue, destination_profiles): a run
// queues them, writes them, and once the file is committed records their
// values' hashes as written and empties the queue. A run killed before
// writes the queued profiles again. A run with none writes no file.
//
// # Folders
//
// A file:// target must lie inside a folder the operator allowed when
// starting weft serve (--export-folder, default <data>/exports): a config
// from the API may not write anywhere else on the server. It is checked
// when the config is applied and again when a run starts.
package fileexport
