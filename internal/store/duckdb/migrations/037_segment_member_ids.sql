-- A full run of the segments job (package segment, run.go) writes one
-- member row and one change row per membership, millions at once on a
-- large store. Measured on 4.7M rows (10M-event store, 2M entities):
-- - the ART index on segment_members.entity_id is built from the rows of
--   the transaction at its commit, one key at a time: 5.4 s of CPU at the
--   commit, against 0.04 s without the index. It goes. A profile's
--   segments (SegmentReadOfEntities) are then found by a scan of the
--   entity ids: about 40 ms on 9.3M memberships, against 3 ms with it.
-- - the entity ids, 32 random hex characters, are stored uncompressed, as
--   the attribute values' are (migration 017): FSST saves about half their
--   space but costs most of the time of writing them (inserting 4.7M
--   change rows: 1.7 s of CPU uncompressed, 2.5 s with FSST), and each
--   scan for an entity must decompress the column (130 ms vs 40 ms).
-- DuckDB cannot change a column's compression in place: the tables are
-- copied, in seq order for the changes (destinations read seq ranges).
CREATE TABLE segment_members_037 (
    segment_id TEXT NOT NULL,
    entity_id  TEXT NOT NULL USING COMPRESSION 'uncompressed',
    entered_at TIMESTAMPTZ NOT NULL
);
INSERT INTO segment_members_037 SELECT segment_id, entity_id, entered_at FROM segment_members;
DROP TABLE segment_members;
ALTER TABLE segment_members_037 RENAME TO segment_members;
CREATE TABLE segment_changes_037 (
    seq        BIGINT NOT NULL DEFAULT nextval('segment_changes_seq'),
    segment_id TEXT NOT NULL,
    entity_id  TEXT NOT NULL USING COMPRESSION 'uncompressed',
    change     TEXT NOT NULL, -- entered, exited
    changed_at TIMESTAMPTZ NOT NULL,
    run_id     TEXT NOT NULL
);
INSERT INTO segment_changes_037 SELECT seq, segment_id, entity_id, change, changed_at, run_id FROM segment_changes ORDER BY seq;
DROP TABLE segment_changes;
ALTER TABLE segment_changes_037 RENAME TO segment_changes;
