-- Customer attributes (package attr).

-- When the attributes of an entity were last calculated; an entity with
-- modified_at after it (new events, merges) is due again.
ALTER TABLE entities ADD COLUMN attributes_calculated_at TIMESTAMPTZ;

-- The values: one row per value (list attributes and custom queries may
-- hold several), as text; the data type of the definition says how to read
-- them.
CREATE TABLE customer_attributes (
    entity_id     TEXT NOT NULL,
    attribute_id  TEXT NOT NULL,
    value         TEXT NOT NULL,
    calculated_at TIMESTAMPTZ NOT NULL
);

-- Per attribute: the definition the values were calculated with (its hash
-- decides whether every entity must be recalculated) and the last run.
CREATE TABLE attribute_state (
    attribute_id TEXT PRIMARY KEY,
    hash         TEXT,          -- of the definition all entities were calculated with
    status       TEXT NOT NULL, -- ok, error
    error        TEXT,
    entities     BIGINT NOT NULL,
    value_rows   BIGINT NOT NULL,
    duration_ms  DOUBLE PRECISION NOT NULL,
    finished_at  TIMESTAMPTZ NOT NULL
);

-- Context queries over the whole customer base, as in Meiro: definitions
-- read (SELECT value FROM context WHERE key = '...').
CREATE TABLE context (
    key      TEXT PRIMARY KEY,
    value    TEXT,
    query    TEXT NOT NULL,
    modified TIMESTAMPTZ,
    error    TEXT
);

-- Caches rebuilt after each run: what a UI needs for pickers and charts.
CREATE TABLE attribute_customers_cache (
    attribute_id    TEXT PRIMARY KEY,
    customers_count BIGINT NOT NULL,
    modified        TIMESTAMPTZ NOT NULL
);
CREATE TABLE attribute_values_counts (
    attribute_id TEXT NOT NULL,
    value        TEXT NOT NULL,
    count        BIGINT NOT NULL,
    modified     TIMESTAMPTZ NOT NULL
);

-- The fingerprint of the attribute set pivoted_customer_attributes was
-- created for.
CREATE TABLE attribute_meta (
    id               INTEGER PRIMARY KEY,
    view_fingerprint TEXT
);
INSERT INTO attribute_meta VALUES (1, NULL);
