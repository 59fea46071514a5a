-- Lookups of an entity's values, and the conversions attribute values go
-- through (DuckDB has TRY_CAST; these give NULL instead of an error for
-- text that is not a value of the type). Plain SQL functions, so the
-- planner inlines them.
CREATE INDEX customer_attributes_entity_idx ON customer_attributes (entity_id, attribute_id);
CREATE INDEX attribute_values_counts_idx ON attribute_values_counts (attribute_id);
CREATE INDEX entities_due_idx ON entities (attributes_calculated_at);

CREATE FUNCTION weft_to_float(t TEXT) RETURNS DOUBLE PRECISION LANGUAGE SQL IMMUTABLE AS $$
    SELECT CASE WHEN t ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$' THEN CAST(t AS DOUBLE PRECISION) END
$$;

CREATE FUNCTION weft_to_int(t TEXT) RETURNS BIGINT LANGUAGE SQL IMMUTABLE AS $$
    SELECT CASE WHEN t ~ '^\s*[-+]?[0-9]{1,18}\s*$' THEN CAST(t AS BIGINT) END
$$;

CREATE FUNCTION weft_to_bool(t TEXT) RETURNS BOOLEAN LANGUAGE SQL IMMUTABLE AS $$
    SELECT CASE lower(trim(t)) WHEN 'true' THEN TRUE WHEN 't' THEN TRUE WHEN '1' THEN TRUE WHEN 'yes' THEN TRUE
                               WHEN 'false' THEN FALSE WHEN 'f' THEN FALSE WHEN '0' THEN FALSE WHEN 'no' THEN FALSE END
$$;

CREATE FUNCTION weft_to_date(t TEXT) RETURNS DATE LANGUAGE SQL IMMUTABLE AS $$
    SELECT CASE WHEN t ~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}' THEN CAST(substr(trim(t), 1, 10) AS DATE) END
$$;

CREATE FUNCTION weft_to_datetime(t TEXT) RETURNS TIMESTAMPTZ LANGUAGE SQL STABLE AS $$
    SELECT CASE WHEN t ~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?\s*(Z|[-+][0-9]{2}(:?[0-9]{2})?)?\s*$'
                THEN CAST(t AS TIMESTAMPTZ) END
$$;
