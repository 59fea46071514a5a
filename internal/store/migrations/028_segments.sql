-- Segments (package segment): the current members of each segment, every
-- change of membership in the order it was recorded, and each run's sizes.
-- Destinations (package destination) read the changes after a cursor
-- (their last seq sent): only the segments job writes segment_changes, one
-- run at a time, so seq order is commit order and a cursor never skips a
-- change.

CREATE TABLE segment_members (
    segment_id TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    entered_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX segment_members_segment_idx ON segment_members (segment_id, entity_id);
CREATE INDEX segment_members_entity_idx ON segment_members (entity_id);

CREATE SEQUENCE segment_changes_seq;

CREATE TABLE segment_changes (
    seq        BIGINT PRIMARY KEY DEFAULT nextval('segment_changes_seq'),
    segment_id TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    change     TEXT NOT NULL, -- entered, exited
    changed_at TIMESTAMPTZ NOT NULL,
    run_id     TEXT NOT NULL
);

-- One row per segment and run of the segments job: the size history.
CREATE TABLE segment_runs (
    segment_id  TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    full_run    BOOLEAN NOT NULL, -- from scratch (definition changed) or incremental
    size        BIGINT NOT NULL,
    entered     BIGINT NOT NULL,
    exited      BIGINT NOT NULL,
    status      TEXT NOT NULL,    -- ok, error
    error       TEXT,
    duration_ms DOUBLE PRECISION NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX segment_runs_segment_idx ON segment_runs (segment_id, finished_at);

-- Destinations (package destination): how far each one has sent the
-- segment changes (the last seq sent, 0 before the first). A destination
-- type keeps what else it needs in columns or tables of its own.
CREATE TABLE destination_cursors (
    destination_id TEXT PRIMARY KEY,
    segment_seq    BIGINT NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
