-- The catalog of sources and event types. Shared: both engines accept it.
CREATE TABLE sources (
    id         TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE event_types (
    id         TEXT PRIMARY KEY, -- source_id/type/version
    source_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    version    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
