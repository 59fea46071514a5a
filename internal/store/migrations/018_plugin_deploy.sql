-- Deployable plugins (package plugin): what a successful run needs to be
-- deployed, as JSON (plugin.DeploySpec: the merged http object, the
-- inputParams, the metadata and the storage folder of each stage); NULL
-- for runs that are not deployable. Every server process deploys each
-- declared plugin's latest successful run that has one.
ALTER TABLE plugin_runs ADD COLUMN deploy TEXT;
