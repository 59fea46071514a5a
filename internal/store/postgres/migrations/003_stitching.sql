-- Identity stitching state (package stitch), with the keys and indexes the
-- stitcher's lookups need.
CREATE TABLE stitch_state (
    id         INTEGER PRIMARY KEY,
    watermark  BIGINT NOT NULL,
    updated_at TIMESTAMPTZ,
    -- A random number each pass writes: the stitcher's in-memory index
    -- knows which state it reflects.
    pass_token BIGINT NOT NULL DEFAULT 0
);
INSERT INTO stitch_state (id, watermark, updated_at) VALUES (1, 0, NULL);

CREATE TABLE entities (
    id          TEXT PRIMARY KEY,
    created_seq BIGINT NOT NULL, -- seq of its first event: decides which entity is oldest
    created_at  TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    merged_into TEXT,
    -- Identifier values per category, as a JSON object ({"email": 2}): what
    -- the max_per_entity guard rail needs, kept by the stitcher.
    identifier_counts TEXT NOT NULL DEFAULT '{}'
);

-- The stitcher updates entities by created_seq (unique: one event starts at
-- most one entity), an integer DuckDB scans fast.
CREATE UNIQUE INDEX entities_created_seq_idx ON entities (created_seq);

CREATE TABLE entity_events (
    event_seq BIGINT PRIMARY KEY,
    entity_id TEXT NOT NULL
);
CREATE INDEX entity_events_entity_idx ON entity_events (entity_id);

CREATE TABLE identifiers (
    category  TEXT NOT NULL,
    value     TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    -- FNV-1a of category, a zero byte and value (stitch.keyHash): one
    -- integer column to narrow look-ups by.
    key_hash  BIGINT NOT NULL,
    PRIMARY KEY (category, value)
);
CREATE INDEX identifiers_entity_idx ON identifiers (entity_id);
CREATE INDEX identifiers_key_hash_idx ON identifiers (key_hash);

CREATE TABLE stitch_merges (
    survivor  TEXT NOT NULL,
    loser     TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    category  TEXT NOT NULL,
    value     TEXT NOT NULL,
    merged_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX stitch_merges_survivor_idx ON stitch_merges (survivor);
CREATE INDEX stitch_merges_loser_idx ON stitch_merges (loser);

CREATE TABLE stitch_audit (
    category        TEXT NOT NULL,
    value           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    events          BIGINT NOT NULL,
    first_event_seq BIGINT NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL
);
