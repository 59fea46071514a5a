-- weft_try_cast(v, CAST(NULL AS type)) is v converted to the type, or NULL
-- when it does not convert (PostgreSQL has no TRY_CAST): the safe form of a
-- cast in an attribute's expressions (package sqlrewrite, SafeCasts) when
-- the attribute's statement failed on a value. PL/pgSQL assigns v to the
-- second argument with an assignment cast, or through text where there is
-- none, and catches the data exceptions (SQLSTATE class 22) only. The
-- explicit-only casts between booleans and integers, which never fail, are
-- made as written ('true' is no integer): PL/pgSQL plans a statement when
-- it first runs it, for the argument types of the call.
CREATE FUNCTION weft_try_cast(v anyelement, t anycompatible) RETURNS anycompatible
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF pg_typeof(v) = 'boolean'::regtype AND pg_typeof(t) = 'integer'::regtype THEN
        RETURN CAST(v AS integer);
    END IF;
    IF pg_typeof(v) = 'integer'::regtype AND pg_typeof(t) = 'boolean'::regtype THEN
        RETURN CAST(v AS boolean);
    END IF;
    t := v;
    RETURN t;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;

-- A literal of unknown type ('12'::int) is text here: a polymorphic
-- argument cannot take it.
CREATE FUNCTION weft_try_cast(v text, t anycompatible) RETURNS anycompatible
LANGUAGE plpgsql STABLE AS $$
BEGIN
    t := v;
    RETURN t;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;
