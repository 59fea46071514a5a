-- Applied configurations (weft.yaml). The row with the highest version is
-- the one in force; older rows are the history.
CREATE TABLE configs (
    version    BIGINT PRIMARY KEY,
    body       TEXT NOT NULL,        -- as the user sent it, YAML or JSON
    normalized TEXT NOT NULL,        -- the parsed config as JSON
    applied_at TIMESTAMPTZ NOT NULL
);

-- The fingerprint of the stitching rules the entities were built with; when
-- the rules in force differ, the next pass rebuilds from scratch.
ALTER TABLE stitch_state ADD COLUMN rules_hash TEXT;
