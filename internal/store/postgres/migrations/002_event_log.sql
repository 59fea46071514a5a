-- The immutable customer event log.
CREATE SEQUENCE customer_events_seq;

CREATE TABLE customer_events (
    id         TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL DEFAULT nextval('customer_events_seq'),
    source_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    version    TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    payload    JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX customer_events_seq_idx ON customer_events (seq);
