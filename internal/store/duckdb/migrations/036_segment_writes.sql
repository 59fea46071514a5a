-- A full run of the segments job (package segment, run.go) writes one
-- change row and one member row per membership: millions on a large store.
-- DuckDB keeps an ART index up to date row by row on each insert, which
-- cost more than the inserts themselves (measured on 300k changes of a
-- 1M-event store: 0.7 s of CPU into segment_changes with its primary key,
-- 0.3 s without; 0.35 s into segment_members with its two indexes, 0.02 s
-- without). So, as for the event log (002):
-- - segment_changes loses its primary key. seq stays unique: it comes
--   from segment_changes_seq, and the segments job, one run at a time, is
--   the only writer. Rows arrive in seq order, so zone maps serve the
--   destinations' reads of seq ranges as the index did.
-- - segment_members loses its index on (segment_id, entity_id): a page
--   of members (SegmentReadMembers) costs the same without it, as DuckDB
--   scans the segment's rows, kept together by zone maps, for a range on
--   it. The index on entity_id stays: it serves a profile's segments
--   (SegmentReadOfEntities), a look-up of a few entities.
-- DuckDB cannot drop a primary key in place: the table is copied.
CREATE TABLE segment_changes_036 (
    seq        BIGINT NOT NULL DEFAULT nextval('segment_changes_seq'),
    segment_id TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    change     TEXT NOT NULL, -- entered, exited
    changed_at TIMESTAMPTZ NOT NULL,
    run_id     TEXT NOT NULL
);
INSERT INTO segment_changes_036 SELECT seq, segment_id, entity_id, change, changed_at, run_id FROM segment_changes ORDER BY seq;
DROP TABLE segment_changes;
ALTER TABLE segment_changes_036 RENAME TO segment_changes;
DROP INDEX segment_members_segment_idx;
