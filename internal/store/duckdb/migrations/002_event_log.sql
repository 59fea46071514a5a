-- The immutable customer event log.
CREATE SEQUENCE customer_events_seq START 1;

-- No index at all: rows arrive in seq order, so DuckDB's zone maps make seq
-- ranges cheap; ids are kept unique by the backend (package doc), because an
-- ART index on them halves ingest throughput and costs ~100 bytes an event.
CREATE TABLE customer_events (
    id         TEXT NOT NULL,
    seq        BIGINT NOT NULL DEFAULT nextval('customer_events_seq'),
    source_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    version    TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    payload    JSON NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
