-- The records of the stores job code reads and writes (package kv): the
-- kv store, settings and secrets, told apart by store. value is the record
-- as JSON, or for secrets its AES-256-GCM ciphertext. version changes, to a
-- random number, on every write: writers compare it to the one they read
-- (compare-and-swap), and a deleted and re-created record never repeats it.
-- expires_at (kv only) is when the record starts reading as missing.
CREATE TABLE kv_records (
    store      TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    version    BIGINT NOT NULL,
    expires_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (store, key)
);
