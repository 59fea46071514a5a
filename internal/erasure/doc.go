// Package erasure forgets people: it deletes everything Weft holds about
// a set of entities (their events and those of the entities merged into
// them, identifiers, attribute values and cache counts, plugin properties
// and staged plugin data, delivery logs naming them), puts their
// identifiers on the suppression list, and makes sure the raw values are
// physically gone from the database files. The privacy requests
// (internal/privacy) and the retention job call it.
//
// # What Erase deletes, table by table
//
// The entities given, the entity each was merged into and every entity
// merged into those (to a fixed point), are erased:
//
//   - event_log: their events (found through entity_events; delivery logs
//     are events of source delivery, stitched by the delivery rules), and
//     events after the stitching watermark whose identifiers are
//     suppressed (they arrived before the erasure and are not stitched yet);
//     customer_events is a view of it.
//   - entity_events, identifiers, entities, stitch_merges (as survivor or
//     loser), stitch_audit (rows whose first event was theirs: refused
//     values of their events), stitch_refused (their refused links),
//     stitch_splits (as the entity, a part, or revealed by their event) and
//     stitch_constraints (naming their entity, an event or an identifier of
//     theirs, found by text in the spec).
//   - customer_attributes, with attribute_values_counts and
//     attribute_customers_cache counted down in the same transaction, as
//     the attribute engine counts them (one per value row; one customer
//     per entity with a value), so GET /v1/attributes/{id}/values stays
//     right; pivoted_customer_attributes is a view of it.
//   - attribute_state.cast_failure_event_id when it names one of their
//     events.
//   - plugin_property_values (with plugin_properties.entities counted
//     down), plugin_property_staging, plugin_dataset_users,
//     plugin_dataset_values.
//   - segment_members and segment_changes: their memberships and the
//     record of their entering and leaving segments, including changes no
//     destination has sent yet (an erased person is sent nowhere).
//     segment_runs holds counts only and stays.
//   - segment_event_values: the segments' kept per-event values of their
//     events (a field such as a purchase's total), by seq.
//   - segment_event_fields: the copy of their events' top-level payload
//     fields that segment conditions read (an e-mail, a total), by seq.
//     segment_field_types and segment_field_keys (event types, key names
//     and seqs) stay.
//
// Left alone, because they hold nothing about a person: sources,
// event_types, configs, context (aggregates over everyone), attribute_meta,
// stitch_state (its pass_token changes, so a stitching engine reloads its
// resident index, which held the erased identifiers), job_runs, job_logs,
// job_schedules, notifications (Weft writes no identifier values there),
// kv_records (job code's own records: Weft keys none by entity), plugin_keys,
// plugin_stages, plugin_datasets (definitions, not rows), plugin_runs,
// the object tables (custom objects are not keyed by entity), segment_runs
// and destination_cursors, and the erasure tables themselves.
//
// # Stitching waits
//
// Erase holds the stitching lock alone (store.DB.LockStitching) from start
// to end, and stitching passes hold it shared: a pass that had read the
// log and the identifier index before the deletions would otherwise write
// the person's mappings and identifiers back after them.
//
// # Idempotent and crash-safe
//
// The closure of the entities is recorded in erasure_pending before
// anything is deleted. Each chunk of ChunkEntities entities is erased in
// one transaction, its entity rows last, so a chunk is either wholly done
// or not at all. The pending rows go only after the deleted bytes are
// physically gone. A crash anywhere leaves the pending rows, and the next
// Erase (with any entities, or none) finishes them. An entity already
// erased is simply not found again.
//
// # Physically gone
//
// After the deletions, the tables an erasure touched whose rows hold
// personal data (event payloads and the segments' values kept of them,
// identifier values, attribute, property and plugin values:
// reclaimedTables) are reclaimed
// (store.Capabilities.Reclaim), before Erase returns. The tables of
// Weft's own ids, counts and times (entity_events, entities, the caches'
// counts, segment memberships) keep their deleted rows' bytes until the
// database reuses the space (reclaim.go says why):
//
//   - DuckDB: a DELETE and a CHECKPOINT leave the deleted rows' bytes in
//     their row groups, and freed blocks keep their old content. In each
//     touched table, the row groups holding deleted rows (found from
//     pragma_storage_info against the live rows of each group) have their
//     live rows moved to the end of the table in one transaction, so the
//     CHECKPOINT drops them whole; then the free blocks are overwritten by
//     a scratch table of hashes, which is then dropped; a last CHECKPOINT
//     empties the WAL. Bound: none left in the database file or its WAL
//     when Erase returns. Cost: a copy of the row groups the deleted rows
//     were spread over, and a write of the free space: a few people's
//     events spread over the whole log touch most of its row groups, so
//     batching erasures shares the cost; retention, whose old events sit
//     at the start of the log, rewrites only the groups it emptied partly.
//   - PostgreSQL: VACUUM (FULL, ANALYZE) of each touched table writes new
//     files and truncates the old ones when it commits; ANALYZE replaces
//     the statistics (pg_statistic holds sample values), and pg_statistic
//     itself is rewritten when Weft connects as a superuser (otherwise
//     PostgreSQL skips it with a warning, and its old rows stay until
//     autovacuum and new rows overwrite them). VACUUM FULL holds an ACCESS
//     EXCLUSIVE lock: ingestion waits while event_log is rewritten. The
//     WAL (pg_wal) keeps the original inserts until its segments are
//     recycled after later checkpoints and overwritten by new WAL (at most
//     max_wal_size of WAL later, by default 1 GB), and WAL archives or
//     replicas keep what they received: that part is the operator's.
//   - Temporary tables: stages keep scratch copies of customer data in
//     temporary tables of their connections (the attribute engine's chunk
//     tables); Erase first closes the pool's idle connections, which drops
//     them (store.DB.ReleaseIdle). A connection in use by a stage running
//     at that moment keeps its scratch until the stage's next run.
//
// The tests scan the DuckDB file and WAL, and PostgreSQL's base/<database
// oid> and global directories, for an erased e-mail.
//
// # The suppression list
//
// Each identifier of an erased entity goes on suppressed_identifiers as
// the hex SHA-256 of the installation's salt, the category, a colon and
// the value (suppress.go says why the salt lives beside the list). At
// ingest, the ingester's Suppress option (Suppressor.DropQuery) drops the
// events whose identifiers hash into the list. It keeps the list in memory,
// reloaded when erasure_state.list_version moves (every erasure moves it
// in the transaction that adds to the list), and evaluates the rules of
// plain forms in Go (prefilter.go): a batch certainly clean appends with
// one small read of the version inside its transaction; any other batch,
// or one appended after the list moved, runs the stitching rules in force
// over the staged batch in SQL, in the append's own transaction. The rules
// are config SQL: on PostgreSQL they run as the restricted role
// (store.DB.EventDeleteIdentified, store.Drop), as the sweep of unstitched
// events does. Staleness: none (see Suppressor).
// Dropped events are not errors: the answer counts them ("suppressed") and
// weft_events_suppressed_total counts them. Since every way into the log
// (the events API, the tracking protocol, jobs, delivery logs) goes
// through the ingester, stitching never sees an erased identifier again.
//
// # Retention
//
// Retain deletes, per source of weft.yaml's retention section, the events
// whose event_time is older than the period, with their entity_events,
// marks their entities' attributes due, and reclaims the space as Erase
// does. Identifiers and entities stay (a returning person is the same
// person, and a later erasure still finds them). The built-in job
// retention runs it daily.
package erasure
