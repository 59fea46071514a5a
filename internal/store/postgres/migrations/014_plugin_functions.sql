-- weft_unit_hash(text): a number in [0, 1) from the first 52 bits of the
-- text's MD5, the same on both engines (DuckDB's is a macro in macros.sql).
-- Datasets order and range users by it.
CREATE FUNCTION weft_unit_hash(s TEXT) RETURNS DOUBLE PRECISION
LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT (('x' || lpad(substr(md5(s), 1, 13), 16, '0'))::bit(64)::bigint) / 4503599627370496.0 $$;

CREATE INDEX plugin_property_values_entity ON plugin_property_values (entity_id);
CREATE INDEX plugin_property_staging_run ON plugin_property_staging (run_id, batch);
