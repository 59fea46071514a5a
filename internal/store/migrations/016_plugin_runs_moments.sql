-- Plugins (package plugin): how runs ended, and the users and attribute
-- values of datasets at a moment. No keys or indexes: rows are written once
-- per dataset, read by run and key (hash joins), and deleted with the run.

-- One row per plugin run that ended (pluginrun writes it): the cleanup
-- keeps the files and properties of each plugin's latest successful run
-- even after job_runs has forgotten it. status: succeeded, failed.
CREATE TABLE plugin_runs (
    run_id   TEXT PRIMARY KEY,
    plugin   TEXT NOT NULL,
    status   TEXT NOT NULL,
    ended_at TIMESTAMPTZ NOT NULL
);

-- The users of a dataset at a moment other than latest, fixed when it is
-- made: base_at is the user's first event time, moment_at the cut-off
-- (base_at + the moment's seconds). Percentile moments leave out users
-- who reached the goal by their cut-off.
CREATE TABLE plugin_dataset_users (
    run_id    TEXT NOT NULL,
    key       TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    base_at   TIMESTAMPTZ NOT NULL,
    moment_at TIMESTAMPTZ NOT NULL
);

-- Attribute values calculated as of each user's cut-off: slot is the
-- feature's index, -1 the attribute goal (as of data_now for latest
-- datasets). List and custom attributes have several rows.
CREATE TABLE plugin_dataset_values (
    run_id    TEXT NOT NULL,
    key       TEXT NOT NULL,
    slot      INTEGER NOT NULL,
    entity_id TEXT NOT NULL,
    value     TEXT NOT NULL
);
