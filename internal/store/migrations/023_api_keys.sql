-- The key store (package keys): API keys an admin created, each with the
-- scopes it grants. The key itself is never stored: hash is the hex SHA-256
-- of it (keys are 256 random bits, so a fast hash is enough), prefix its
-- first characters, for people to recognise it. live_name is the name while
-- the key is live and NULL once revoked, so names are unique among live
-- keys (NULLs never collide) and a revoked key's row keeps its name for
-- the audit trail. scopes and sources are JSON arrays of strings.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    live_name    TEXT UNIQUE,
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    sources      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
