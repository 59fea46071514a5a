-- weft_try_cast(v, CAST(NULL AS type)) is v converted to the type, or NULL
-- when it does not convert (PostgreSQL has no TRY_CAST): the safe form of a
-- cast in an attribute's expressions (package sqlrewrite, SafeCasts) when
-- the attribute's statement failed on a value. PL/pgSQL assigns v to the
-- second argument with an assignment cast, or through text where there is
-- none, and catches the data exceptions (SQLSTATE class 22) only.
CREATE FUNCTION weft_try_cast(v anyelement, t anycompatible) RETURNS anycompatible
LANGUAGE plpgsql STABLE AS $$
BEGIN
    t := v;
    RETURN t;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;
