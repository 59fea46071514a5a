-- Segments (package segment): per segment, the definition its members were
-- last computed with (a new hash computes it fully) and the time of the
-- run that computed them (an incremental run looks at what changed since),
-- with how many entities there were then and the greatest created_seq:
-- fewer entities of at most that created_seq now means some were erased,
-- and their memberships end.
CREATE TABLE segment_state (
    segment_id      TEXT PRIMARY KEY,
    hash            TEXT NOT NULL,
    evaluated_at    TIMESTAMPTZ NOT NULL,
    run_id          TEXT NOT NULL,
    entity_count    BIGINT NOT NULL,
    max_created_seq BIGINT NOT NULL
);
