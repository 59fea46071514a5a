-- Privacy (package erasure): the suppression list, the erasures not yet
-- finished, and the per-installation salt of the list.

-- One row per suppressed identifier: the hex SHA-256 of the salt, the
-- category, a colon and the value (weft_sha256, migration 022). Only the
-- hash is kept: the list says whether a value seen again was erased, and
-- cannot be read back as values.
CREATE TABLE suppressed_identifiers (
    hash       TEXT PRIMARY KEY,
    category   TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- salt: 32 random bytes, hex, written by the first erasure.
CREATE TABLE erasure_state (
    id   INTEGER PRIMARY KEY,
    salt TEXT
);
INSERT INTO erasure_state VALUES (1, NULL);

-- The entities of erasures begun and not finished (with the entities
-- merged into them), written before anything is deleted: a later Erase
-- finishes them. Rows leave when their data is physically gone.
CREATE TABLE erasure_pending (
    entity_id    TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL
);
