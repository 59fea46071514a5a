-- Identity that repairs itself (package stitch, step 12): order-independent
-- stitching, splits, and the constraints an operator adds by hand.

-- An entity's first event is its smallest by (event_time, entity id): the
-- deterministic rule that names a component (its id is the MD5 of that
-- event's id) and decides which entity survives a merge, whatever order the
-- events arrived in. first_event_us is that event's event_time in
-- microseconds since 1970 (an integer: DuckDB writes it far faster than a
-- TIMESTAMPTZ, and survivors are compared in Go).
-- component is shared by the entities of one component of the link graph
-- that the guard rails or a manual split cut in parts (NULL when the
-- entity is a whole component): a pass that touches one of them
-- re-clusters them all.
ALTER TABLE entities ADD COLUMN first_event_us BIGINT;
ALTER TABLE entities ADD COLUMN component TEXT;

-- Every refused link: the event (and the entity it is in) that carries an
-- identifier it was not joined through, and why (max_per_entity,
-- manual_split). The identity graph draws them; a pass finds through them
-- the entities it must re-cluster with the ones it touches.
CREATE TABLE stitch_refused (
    entity_id TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    category  TEXT NOT NULL,
    value     TEXT NOT NULL,
    reason    TEXT NOT NULL,
    key_hash  BIGINT NOT NULL
);

-- Splits, recorded like merges: the entity that split, its parts (a JSON
-- array of entity ids; the entity itself is one of them when it kept its
-- first event), and the identifier and event that revealed the conflict
-- (NULL for a manual split or block, whose constraint_id is set).
CREATE TABLE stitch_splits (
    entity_id     TEXT NOT NULL,
    parts         TEXT NOT NULL,
    category      TEXT,
    value         TEXT,
    event_seq     BIGINT,
    constraint_id TEXT,
    split_at      TIMESTAMPTZ NOT NULL
);

-- What an operator decided by hand (POST /v1/entities/{id}/split,
-- POST /v1/entities/merge, POST /v1/identifiers/block), honoured by every
-- later pass and rebuild until removed. spec is JSON:
--   block: {"category": "email", "value": "x@example.org"}
--   merge: {"entities": [ids at the time], "events": [the first event id of each]}
--   split: {"entity": id, "identifiers": [{"category", "value"}, ...],
--           "apart_from": [{"category", "value"}, ...]}
-- No primary key: its rows may name a person (a blocked e-mail), and an
-- erasure must be able to make their bytes physically gone, which DuckDB
-- cannot do for a keyed table (package erasure, reclaim.go); ids are 16
-- random hex characters.
CREATE TABLE stitch_constraints (
    id         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    spec       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Entities stitched before: their first event by seq, until a rebuild
-- names them by (event_time, id).
UPDATE entities SET first_event_us = CAST(floor(extract(epoch FROM e.event_time) * 1000000) AS BIGINT)
    FROM event_log e WHERE e.seq = entities.created_seq;
