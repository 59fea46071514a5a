-- Privacy requests (package privacy): OpenDSR requests and their
-- lifecycle. id is the controller's subject_request_id. identities and
-- callback_urls are JSON arrays; an erasure's identity values are blanked
-- when it starts, so the request does not keep what it erases. entities
-- are the entity ids resolved when the request started (JSON array), so a
-- resumed erasure erases what it started on. notified_status is the last
-- status whose callbacks were sent. result is what was found or erased
-- (JSON); error the last failure of the request.
CREATE TABLE privacy_requests (
    id                       TEXT PRIMARY KEY,
    type                     TEXT NOT NULL,
    status                   TEXT NOT NULL,
    notified_status          TEXT NOT NULL,
    identities               TEXT NOT NULL,
    callback_urls            TEXT NOT NULL,
    extensions               TEXT NOT NULL,
    entities                 TEXT,
    result                   TEXT,
    error                    TEXT,
    submitted_time           TIMESTAMPTZ NOT NULL,
    received_time            TIMESTAMPTZ NOT NULL,
    expected_completion_time TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL,
    completed_at             TIMESTAMPTZ
);
CREATE INDEX privacy_requests_status_idx ON privacy_requests (status);

-- The processor's signing key pair, when a secret key is configured: the
-- certificate in PEM, the private key sealed with AES-256-GCM under a key
-- derived from the secret key (never readable as a plain value from SQL).
-- Without a secret key the pair lives in a file of the data directory.
CREATE TABLE privacy_keys (
    id          INTEGER PRIMARY KEY,
    certificate TEXT NOT NULL,
    sealed_key  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
