-- The audit trail (package audit): one row per change asked of the API
-- (every route of scope jobs or admin that is not a GET), refused ones
-- included. key_name is the stored key's name, "bootstrap" (--api-key),
-- "open" (no key configured) or "" (no valid key: a 401). summary never
-- holds a request body.
CREATE SEQUENCE audit_seq;

CREATE TABLE audit_log (
    id          BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    recorded_at TIMESTAMPTZ NOT NULL,
    key_id      TEXT NOT NULL,
    key_name    TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    action      TEXT NOT NULL,
    method      TEXT NOT NULL,
    route       TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER NOT NULL,
    summary     TEXT NOT NULL
);
CREATE INDEX audit_log_recorded_at ON audit_log (recorded_at);
