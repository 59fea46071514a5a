-- Destinations (package destination): what a webhook has in flight, its
-- dead letters, and what it last sent of each profile.

-- The batch a webhook is sending: the last seq of the segment changes it
-- covers (after the cursor of destination_cursors), fixed before the first
-- request so that a resend after a crash covers the same changes under the
-- same idempotency key. NULL between batches.
CREATE TABLE destination_state (
    destination_id TEXT PRIMARY KEY,
    pending_to     BIGINT,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- Requests a receiver refused for good (a 4xx other than 429): the body as
-- sent, the answer (status and body, clipped), and replays asked for and
-- done. The cursor moved past them in the same transaction.
CREATE SEQUENCE destination_dead_letters_seq;

CREATE TABLE destination_dead_letters (
    id                  BIGINT PRIMARY KEY DEFAULT nextval('destination_dead_letters_seq'),
    destination_id      TEXT NOT NULL,
    idempotency_key     TEXT NOT NULL,
    items               INTEGER NOT NULL, -- changes or profiles in the request
    request             TEXT NOT NULL,
    status              INTEGER NOT NULL,
    answer              TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    replay_requested_at TIMESTAMPTZ,
    replayed_at         TIMESTAMPTZ
);
CREATE INDEX destination_dead_letters_destination_idx ON destination_dead_letters (destination_id);

-- Webhooks without segments send changed profiles: the hash of the chosen
-- attributes and identifiers as last sent, per destination and entity, and
-- the queue of profiles whose hash differs, computed set-based once per
-- run and drained batch by batch.
CREATE TABLE destination_profiles (
    destination_id TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    sent_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (destination_id, entity_id)
);

CREATE TABLE destination_profile_queue (
    destination_id TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    PRIMARY KEY (destination_id, entity_id)
);
