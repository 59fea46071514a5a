// Package plugin runs Stormly-style plugins: external programs that read
// customer datasets over HTTP, keep files between their stages in blob
// storage through signed URLs, and write user properties back in batches.
//
// # URLs
//
// Everything a plugin reaches is a capability URL under /plugin/ that
// carries its own HMAC-SHA256 signature and expiry, so a plugin sends no
// credentials:
//
//	/plugin/upload-url/{run}/{stage}/{exp}/{sig}/<path>   GET: a presigned PUT URL, as text
//	/plugin/put/{run}/{stage}/{exp}/{sig}/<path>          PUT: store the file
//	/plugin/files/{run}/{stage}/{exp}/{sig}/<path>        GET: read a file of that stage
//	/plugin/data/{run}/{key}/{exp}/{sig}                  GET: a dataset (?range_start_gt_or_eq=&range_end_lt=)
//
// The signature covers the method, the kind, the run, the stage (or
// dataset key), the expiry and, for put, the file path; the others sign a
// prefix to which the plugin appends the path. The key is 32 random bytes
// made once and kept in the database (table plugin_keys), so every process
// on one database signs alike; deleting the row revokes every URL.
//
// # Properties
//
// Batch stages upload data.json; Stage validates it into
// plugin_property_staging, and Publish turns a run's staged updates into
// published properties in one transaction, after every batch succeeded.
//
// # Files
//
// The package is split by job: definition.go and hyperparam.go are a
// plugin as weft.yaml declares it (package config parses and validates
// it) with its variables and hyper-parameters; service.go opens a
// Service; sign.go signs and checks URLs; storage.go keeps a stage's
// files (in a folder package bucket opens); stage.go records stages;
// dataset*.go make and serve datasets (goal, moment, range, query,
// writing); property*.go parse data.json, stage, publish and resolve
// properties; exec*.go run a stage's process and read its results;
// deploy*.go run deployed servers; cleanup.go prunes ended runs;
// report*.go are report plugins (kind report): their declaration, the
// report document their data URL serves, and their results.
package plugin
