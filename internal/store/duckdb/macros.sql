-- PostgreSQL JSON functions that user SQL (stitching value expressions,
-- attribute expressions, context queries) may use, as DuckDB macros, so that
-- every example of the seeds and specs runs unchanged on both engines. They
-- are created as temporary macros on every connection: they belong to this
-- binary, not to the database file.

-- json_build_array(a, b, ...): one overload per arity, up to 8.
CREATE OR REPLACE TEMP MACRO json_build_array
    (a) AS to_json([a]),
    (a, b) AS to_json([a, b]),
    (a, b, c) AS to_json([a, b, c]),
    (a, b, c, d) AS to_json([a, b, c, d]),
    (a, b, c, d, e) AS to_json([a, b, c, d, e]),
    (a, b, c, d, e, f) AS to_json([a, b, c, d, e, f]),
    (a, b, c, d, e, f, g) AS to_json([a, b, c, d, e, f, g]),
    (a, b, c, d, e, f, g, h) AS to_json([a, b, c, d, e, f, g, h]);

CREATE OR REPLACE TEMP MACRO jsonb_build_array
    (a) AS to_json([a]),
    (a, b) AS to_json([a, b]),
    (a, b, c) AS to_json([a, b, c]),
    (a, b, c, d) AS to_json([a, b, c, d]),
    (a, b, c, d, e) AS to_json([a, b, c, d, e]),
    (a, b, c, d, e, f) AS to_json([a, b, c, d, e, f]),
    (a, b, c, d, e, f, g) AS to_json([a, b, c, d, e, f, g]),
    (a, b, c, d, e, f, g, h) AS to_json([a, b, c, d, e, f, g, h]);

-- Set-returning: one row per array element.
CREATE OR REPLACE TEMP MACRO json_array_elements_text(j) AS unnest(json_extract_string(j, '$[*]'));
CREATE OR REPLACE TEMP MACRO jsonb_array_elements_text(j) AS unnest(json_extract_string(j, '$[*]'));
CREATE OR REPLACE TEMP MACRO json_array_elements(j) AS unnest(json_extract(j, '$[*]'));
CREATE OR REPLACE TEMP MACRO jsonb_array_elements(j) AS unnest(json_extract(j, '$[*]'));

CREATE OR REPLACE TEMP MACRO jsonb_array_length(j) AS json_array_length(j);

-- Conversions of attribute values (package attr): NULL for text that is
-- not a value of the type. PostgreSQL has them as SQL functions.
CREATE OR REPLACE TEMP MACRO weft_to_float(t) AS TRY_CAST(trim(t) AS DOUBLE);
CREATE OR REPLACE TEMP MACRO weft_to_int(t) AS CASE WHEN regexp_full_match(trim(t), '[-+]?[0-9]{1,18}') THEN TRY_CAST(trim(t) AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO weft_to_bool(t) AS CASE lower(trim(t)) WHEN 'true' THEN TRUE WHEN 't' THEN TRUE WHEN '1' THEN TRUE WHEN 'yes' THEN TRUE
    WHEN 'false' THEN FALSE WHEN 'f' THEN FALSE WHEN '0' THEN FALSE WHEN 'no' THEN FALSE END;
CREATE OR REPLACE TEMP MACRO weft_to_date(t) AS coalesce(TRY_CAST(trim(t) AS DATE), CAST(TRY_CAST(trim(t) AS TIMESTAMPTZ) AS DATE));
CREATE OR REPLACE TEMP MACRO weft_to_datetime(t) AS TRY_CAST(trim(t) AS TIMESTAMPTZ);

-- weft_unit_hash(text): a number in [0, 1) from the first 52 bits of the
-- text's MD5, equal to PostgreSQL's function of the same name (migration
-- 014). Plugin datasets order and range users by it.
CREATE OR REPLACE TEMP MACRO weft_unit_hash(s) AS
    CAST(('0x' || substr(md5(s), 1, 13)) AS BIGINT) / 4503599627370496.0;

-- weft_sha256(text): the hex SHA-256 of the text, equal to PostgreSQL's
-- function of the same name (migration 022): the suppression list's hashes
-- (package erasure).
CREATE OR REPLACE TEMP MACRO weft_sha256(s) AS sha256(s);
