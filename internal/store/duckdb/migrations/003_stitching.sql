-- Identity stitching state (package stitch). No indexes, as for the event
-- log: DuckDB's hash joins serve the lookups, and the stitcher is the only
-- writer, one pass at a time.
CREATE TABLE stitch_state (
    id         INTEGER NOT NULL,
    watermark  BIGINT NOT NULL,
    updated_at TIMESTAMPTZ,
    -- A random number each pass writes: the stitcher's in-memory index
    -- knows which state it reflects.
    pass_token BIGINT NOT NULL DEFAULT 0
);
INSERT INTO stitch_state (id, watermark, updated_at) VALUES (1, 0, NULL);

CREATE TABLE entities (
    id          TEXT NOT NULL,
    created_seq BIGINT NOT NULL, -- seq of its first event: decides which entity is oldest
    created_at  TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    merged_into TEXT,
    -- Identifier values per category, as a JSON object ({"email": 2}): what
    -- the max_per_entity guard rail needs, kept by the stitcher.
    identifier_counts TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE entity_events (
    event_seq BIGINT NOT NULL,
    entity_id TEXT NOT NULL
);

CREATE TABLE identifiers (
    category  TEXT NOT NULL,
    value     TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    -- FNV-1a of category, a zero byte and value (stitch.keyHash): one
    -- integer column to narrow look-ups by.
    key_hash  BIGINT NOT NULL
);

CREATE TABLE stitch_merges (
    survivor  TEXT NOT NULL,
    loser     TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    category  TEXT NOT NULL,
    value     TEXT NOT NULL,
    merged_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE stitch_audit (
    category        TEXT NOT NULL,
    value           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    events          BIGINT NOT NULL,
    first_event_seq BIGINT NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL
);
