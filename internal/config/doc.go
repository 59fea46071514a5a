// Package config reads weft.yaml, the one document that says how Weft turns
// the event log into customers: the stitching rules now, attributes, jobs
// and plugins in later steps. It parses YAML or JSON (JSON is YAML), refuses
// fields it does not know so that a typo is an error rather than a silently
// ignored setting, and checks what can be checked without a database.
// Checking the SQL inside the document against the engine is the job of the
// stage that runs it (stitch.Engine.ValidateSQL).
package config
