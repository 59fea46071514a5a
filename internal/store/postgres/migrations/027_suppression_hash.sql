-- weft_sha256(text): the hex SHA-256 of the text's UTF-8 bytes, the same
-- on both engines (DuckDB's is its sha256, a macro in macros.sql): the
-- suppression list's hashes are computed in SQL, so raw identifier values
-- never leave the database to be hashed.
CREATE FUNCTION weft_sha256(s TEXT) RETURNS TEXT
LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT encode(sha256(convert_to(s, 'UTF8')), 'hex') $$;
