-- Plugins (package plugin): the key plugin URLs are signed with, the stages
-- of plugin runs (uploads go only into a running stage), the datasets a run
-- serves, and the plugin properties batches write back.

-- One row: 32 random bytes, hex, made by the first process that needed it.
CREATE TABLE plugin_keys (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- status: running, succeeded, failed. A stage accepts uploads only while
-- running.
CREATE TABLE plugin_stages (
    run_id      TEXT NOT NULL,
    stage       TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (run_id, stage)
);

-- What a data URL serves: spec is the dataset definition as JSON (features,
-- goal, seed), fixed when the dataset is made so repeated reads agree.
CREATE TABLE plugin_datasets (
    run_id     TEXT NOT NULL,
    key        TEXT NOT NULL,
    spec       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- Published properties: one row per property of a run. Values are JSON
-- scalars as text.
CREATE TABLE plugin_properties (
    id           TEXT PRIMARY KEY,
    plugin       TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    name         TEXT NOT NULL,
    category     TEXT NOT NULL,
    type         TEXT NOT NULL,
    entities     BIGINT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE plugin_property_values (
    property_id TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    value       TEXT NOT NULL
);

-- What batches uploaded, until the run publishes it (or fails and it is
-- deleted): ord keeps the upload order, so the last write of a user wins.
CREATE TABLE plugin_property_staging (
    run_id    TEXT NOT NULL,
    batch     BIGINT NOT NULL,
    ord       BIGINT NOT NULL,
    property  TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    value     TEXT NOT NULL
);
